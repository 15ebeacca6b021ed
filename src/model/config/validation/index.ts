// Placeholder until the validation module lands (branch `validate`).
import type { Problem } from '../../../lib/result/problem.js';
export function validateResource(_raw: unknown): Problem[] {
  return [];
}
