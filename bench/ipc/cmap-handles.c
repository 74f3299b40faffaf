/* Memory per cmap handle in libcmap: RSS growth over N handles (after 10), each with one cmap_get. */
#include <corosync/cmap.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) exit(2);
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

static void open_handles(cmap_handle_t *hs, int from, int to) {
  char buf[256];
  for (int i = from; i < to; i++) {
    size_t len = sizeof(buf);
    if (cmap_initialize(&hs[i]) != CS_OK || cmap_get(hs[i], "totem.cluster_name", buf, &len, NULL) != CS_OK) {
      fprintf(stderr, "cmap handle %d failed\n", i);
      exit(1);
    }
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  cmap_handle_t *hs = calloc(n + 10, sizeof(*hs));
  open_handles(hs, 0, 10);
  long before = rss_bytes();
  open_handles(hs, 10, n + 10);
  long after = rss_bytes();
  printf("{\"rss\":%.0f,\"rssTotal\":%ld}\n", (double)(after - before) / n, after);
  for (int i = 0; i < n + 10; i++) cmap_finalize(hs[i]);
  return 0;
}
