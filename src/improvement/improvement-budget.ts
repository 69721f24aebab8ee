import { improvementTokens } from '../storage/audit-evidence.ts';
import type { AuditEntry } from '../storage/records.ts';

/** Where spent tokens are read back from: `ToolRegistry` fits. */
export interface BudgetLedger {
  /** Every `improvement:finished` entry (all tools) since `since`, epoch ms. */
  improvementsSince(since: number): Promise<readonly AuditEntry[]>;
}

/** Options of {@link ImprovementBudget}. */
export interface ImprovementBudgetOptions {
  /** The audit log the spending is kept in (so a restart or another process counts it too). */
  readonly ledger: BudgetLedger;
  /** Tokens allowed per UTC day; `undefined` for no limit. */
  readonly maxTokensPerDay: number | undefined;
  /** The clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * The daily token budget of improvements. What was spent since UTC midnight is read once from
 * the audit log (each `improvement:finished` entry carries its tokens), then counted in memory
 * as improvements end; a new UTC day reads again.
 */
export class ImprovementBudget {
  readonly #ledger: BudgetLedger;
  readonly #limit: number | undefined;
  readonly #now: () => number;
  #today: { day: number; tokens: number } | undefined;

  constructor(options: ImprovementBudgetOptions) {
    this.#ledger = options.ledger;
    this.#limit = options.maxTokensPerDay;
    this.#now = options.now ?? Date.now;
  }

  /** The daily limit, or `undefined` when there is none. */
  get limit(): number | undefined {
    return this.#limit;
  }

  /** Tokens spent on improvements since UTC midnight. */
  async spentToday(): Promise<number> {
    const day = utcDay(this.#now());
    if (this.#today?.day === day) return this.#today.tokens;
    const entries = await this.#ledger.improvementsSince(day);
    const tokens = entries.reduce((sum, entry) => sum + improvementTokens(entry), 0);
    this.#today = { day, tokens };
    return tokens;
  }

  /**
   * Counts `tokens` spent by an improvement that is about to be recorded. Call it before the
   * audit entry is written: the first read of a day must not see the entry and count it twice.
   */
  async spend(tokens: number): Promise<void> {
    const spent = await this.spentToday();
    this.#today = { day: utcDay(this.#now()), tokens: spent + tokens };
  }
}

function utcDay(at: number): number {
  const now = new Date(at);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
}
