/**
 * How many SIGKILL rounds a crash test runs: `fallback` in `npm test`, or the whole number in
 * `SIA_CRASH_ROUNDS` for a longer soak. The rounds are counted, never timed, so a busy machine
 * makes a round slower but never changes what it checks.
 */
export function crashRounds(fallback: number): number {
  const raw = process.env.SIA_CRASH_ROUNDS;
  if (raw === undefined || raw === '') return fallback;
  const rounds = Number(raw);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`SIA_CRASH_ROUNDS must be a whole number ≥ 1, got ${JSON.stringify(raw)}`);
  return rounds;
}
