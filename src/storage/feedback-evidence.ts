import type { AuditEntry } from './records.ts';

/** The audit entry type `agent.feedback()` writes. Stable string. */
export const FEEDBACK_AUDIT_TYPE = 'tool:feedback';

/** How many answers of a version the app said were correct, and how many wrong (from the audit log). */
export interface FeedbackTally {
  /** Verdicts "correct". */
  correct: number;
  /** Verdicts "wrong". */
  wrong: number;
}

/**
 * The version and verdict of a `tool:feedback` audit entry, or `undefined` for any other entry
 * or unreadable evidence (the evidence is JSON from whichever process wrote it: never trusted).
 */
export function readFeedback(entry: AuditEntry): { version: number; correct: boolean } | undefined {
  if (entry.type !== FEEDBACK_AUDIT_TYPE) return undefined;
  const version = entry.toVersion;
  const evidence = entry.evidence;
  if (version === undefined || !Number.isSafeInteger(version) || version < 1) return undefined;
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) return undefined;
  const correct = evidence.correct;
  return typeof correct === 'boolean' ? { version, correct } : undefined;
}

/**
 * The feedback verdicts per version in a tool's audit entries: every `tool:feedback` entry
 * counts once (a call judged twice counts twice here, unlike a process's own
 * `VersionStatistics.feedback`).
 */
export function tallyFeedback(entries: readonly AuditEntry[]): Map<number, FeedbackTally> {
  const tallies = new Map<number, FeedbackTally>();
  for (const entry of entries) {
    const feedback = readFeedback(entry);
    if (feedback === undefined) continue;
    let tally = tallies.get(feedback.version);
    if (tally === undefined) {
      tally = { correct: 0, wrong: 0 };
      tallies.set(feedback.version, tally);
    }
    if (feedback.correct) tally.correct += 1;
    else tally.wrong += 1;
  }
  return tallies;
}
