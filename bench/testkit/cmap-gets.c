/* A C client doing what corosync-cmapctl -g does per key: cmap_initialize_map, then cmap_get
 * round trips, timed one by one. argv: count key
 * Also its voluntary and involuntary context switches per timed GET: about 1 voluntary a GET
 * when it sleeps for every answer (the server on the other vCPU), about 0 with 1 involuntary
 * when a SCHED_RR server preempts it on its own vCPU; which of the two shapes a run took
 * decides its figure more than the server does (bench/README.md, "The loaded socket row"). */
#include <corosync/cmap.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  const char *key = argc > 2 ? argv[2] : "runtime.votequorum.this_node_id";
  cmap_handle_t h;
  cs_error_t err = cmap_initialize_map(&h, CMAP_MAP_ICMAP);
  if (err != CS_OK) {
    printf("{\"error\":%d}\n", err);
    return 1;
  }
  double *lat = malloc(sizeof(double) * n);
  char buf[64];
  for (int i = 0; i < 1000; i++) {
    size_t len = sizeof(buf);
    cmap_get(h, key, buf, &len, NULL);
  }
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double start = us();
  for (int i = 0; i < n; i++) {
    size_t len = sizeof(buf);
    cmap_value_types_t type;
    double t0 = us();
    err = cmap_get(h, key, buf, &len, &type);
    lat[i] = us() - t0;
    if (err != CS_OK) {
      printf("{\"error\":%d}\n", err);
      return 1;
    }
  }
  double total = us() - start;
  getrusage(RUSAGE_SELF, &r1);
  qsort(lat, n, sizeof(double), by_value);
  printf("{\"n\":%d,\"p50\":%.2f,\"p99\":%.2f,\"opsPerSec\":%.0f,\"vcsw\":%.3f,\"ivcsw\":%.3f}\n", n, lat[n / 2], lat[(int)(n * 0.99)], n / (total / 1e6),
         (double)(r1.ru_nvcsw - r0.ru_nvcsw) / n, (double)(r1.ru_nivcsw - r0.ru_nivcsw) / n);
  cmap_finalize(h);
  return 0;
}
