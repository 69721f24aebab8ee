/**
 * For tests only (not exported): the official OpenTelemetry SDK with an in-memory exporter,
 * registered globally with an `AsyncLocalStorageContextManager` (so the async context carries
 * the active span), and a way to read the finished spans as a tree.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** The registered SDK of one test. */
export interface TestTracing {
  /** The exporter holding every finished span. */
  readonly exporter: InMemorySpanExporter;
  /** The provider (also the global one). */
  readonly provider: BasicTracerProvider;
  /** Every finished span so far. */
  spans(): ReadableSpan[];
  /** The finished spans whose name starts with `prefix` (for example `sia.evaluate `). */
  named(prefix: string): ReadableSpan[];
  /** The finished span that is `span`'s parent, if it was exported. */
  parentOf(span: ReadableSpan): ReadableSpan | undefined;
  /** Unregisters the provider and the context manager (call it in `afterEach`). */
  reset(): Promise<void>;
}

/** Registers a `BasicTracerProvider` with a `SimpleSpanProcessor` over an `InMemorySpanExporter`. */
export function registerTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  const spans = () => exporter.getFinishedSpans();
  return {
    exporter,
    provider,
    spans,
    named: (prefix) => spans().filter((span) => span.name.startsWith(prefix)),
    parentOf: (span) =>
      span.parentSpanContext === undefined
        ? undefined
        : spans().find((candidate) => candidate.spanContext().spanId === span.parentSpanContext?.spanId),
    async reset() {
      await provider.shutdown();
      exporter.reset();
      trace.disable();
      context.disable();
      contextManager.disable();
    },
  };
}
