// Stock-tool runs. Filled in below.
export function toolRuns() {
  return [];
}
