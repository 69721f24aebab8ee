/**
 * Report: what happened to each tool (versions, scores over time, promotions with their
 * evidence), read from storage and rendered as one self-contained HTML page.
 * @packageDocumentation
 */

export type {
  AuditedVersionChange,
  GateSummary,
  ImprovementOutcome,
  ShadowSummary,
} from '../storage/audit-evidence.ts';
export { type CollectReportOptions, collectReport } from './collect-report.ts';
export type {
  ActiveSince,
  CallWindow,
  IdleGap,
  ImprovementReport,
  LifetimeWindow,
  PinChange,
  ReportPoint,
  ToolReport,
  VersionChange,
  VersionReport,
} from './improvement-report.ts';
export { type HtmlReportOptions, renderHtmlReport } from './render-html-report.ts';
