/* Baseline: libcmap's cmap_get of a short key, one call at a time (what a C client does). */
#include <corosync/cmap.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  const char *key = argc > 2 ? argv[2] : "totem.cluster_name";
  cmap_handle_t h;
  cs_error_t err = cmap_initialize(&h);
  if (err != CS_OK) {
    printf("{\"error\":%d}\n", err);
    return 1;
  }
  double *lat = malloc(sizeof(double) * n);
  char buf[256];
  for (int i = 0; i < 1000; i++) {
    size_t len = sizeof(buf);
    cmap_get(h, key, buf, &len, NULL);
  }
  double start = now_us(), cpu0 = cpu_us();
  for (int i = 0; i < n; i++) {
    size_t len = sizeof(buf);
    cmap_value_types_t type;
    double t0 = now_us();
    err = cmap_get(h, key, buf, &len, &type);
    lat[i] = now_us() - t0;
    if (err != CS_OK) {
      printf("{\"error\":%d}\n", err);
      return 1;
    }
  }
  double total = now_us() - start, cpu = cpu_us() - cpu0;
  qsort(lat, n, sizeof(double), cmp);
  printf("{\"n\":%d,\"p50\":%.2f,\"p99\":%.2f,\"opsPerSec\":%.0f,\"cpuUsPerOp\":%.2f}\n", n, lat[n / 2], lat[(int)(n * 0.99)], n / (total / 1e6), cpu / n);
  cmap_finalize(h);
  return 0;
}
