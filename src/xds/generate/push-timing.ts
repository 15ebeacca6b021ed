/** When the push pipeline pushes (`serve --debounce`, `--debounce-max`): a module of its own, light enough for the CLI to read. */

/** Quiet time before a push (Istio's PILOT_DEBOUNCE_AFTER). */
export const DEFAULT_DEBOUNCE_MS = 100;

/**
 * The longest a push waits under constant change (`serve --debounce-max`). Istio's is 10 s
 * (PILOT_DEBOUNCE_MAX): with changes arriving about as often as the quiet time (100 ms), the quiet
 * time rarely elapses and pushes wait for the maximum. Measured (bench S6 quick, 10 changes/s):
 * with 10 s, pushes stalled for 1–2 s at a time, convergence p99 was 1.5–2 s and an entry changed
 * again before its previous change was pushed (2 of 5 runs lost changes that way); with 500 ms,
 * p99 640 ms, no change lost in 3 runs, the same CPU. Each push costs what changed, so a shorter
 * bound adds little work.
 */
export const DEFAULT_DEBOUNCE_MAX_MS = 500;
