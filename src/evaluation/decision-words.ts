/**
 * How the decisions write their numbers in words (evaluation reasons, evidence summaries, the
 * watch's findings): one place, so every sentence reads the same.
 */

/** "1 call", "20 calls". */
export function callCount(count: number): string {
  return count === 1 ? '1 call' : `${count} calls`;
}

/** Two decimals. */
export function fixed(value: number): string {
  return value.toFixed(2);
}

/** A rate as a percentage with one decimal: 0.175 → "17.5%". */
export function percent(rate: number): string {
  return `${(100 * rate).toFixed(1)}%`;
}

/** A probability: two significant digits, scientific below 0.001, "0" for 0. */
export function probability(value: number): string {
  if (value === 0) return '0';
  return value >= 0.001 ? String(Number(value.toPrecision(2))) : value.toExponential(1);
}

/** Milliseconds: whole from 100 ms, three significant digits below. */
export function ms(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)))} ms`;
}

/** `value` as a multiple of `reference`: "2.5×", or "up from 0". */
export function ratio(value: number, reference: number): string {
  return reference > 0 ? `${String(Number((value / reference).toPrecision(3)))}×` : 'up from 0';
}
