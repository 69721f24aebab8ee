/**
 * Agent events to a webhook: every promotion and every rollback is POSTed as JSON, signed with
 * an HMAC, to a URL of your choice (Slack, an incident tool, your own service). Here the URL is
 * a small receiver this script starts on 127.0.0.1, which checks the signature and prints what
 * it got.
 *
 * The story, offline: `parse_amount` v1 fails on amounts written with thousands separators;
 * a rewriter proposes a fix, the gate passes it and it is promoted (webhook 1). The fix assumed
 * every amount is a string, so when numbers arrive it fails more than v1 did: the watch scores
 * it below v1 and the agent rolls it back (webhook 2).
 *
 * Usage: node examples/events-webhook/index.ts
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Rewriter, SelfImprovingAgent } from 'self-improving-agent';

const SECRET = 'demo-secret'; // in real use: from your secret store, shared with the receiver

// --- the receiver (stands in for Slack, PagerDuty, your service) -------------------------------
const received: string[] = [];
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    const given = Buffer.from(String(request.headers['x-sia-signature'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      response.writeHead(401).end();
      return;
    }
    const payload = JSON.parse(body.toString('utf8')) as { event: string };
    received.push(payload.event);
    console.log(`webhook received ${payload.event}: ${JSON.stringify(payload)}`);
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sia`;

// --- the sender: two listeners ------------------------------------------------------------------
const deliveries = new Set<Promise<void>>();

/** POSTs one event; never throws (a listener that throws is logged by the agent and ignored anyway). */
function notify(payload: Record<string, unknown>): void {
  const body = JSON.stringify({ ...payload, at: new Date().toISOString() });
  const delivery = fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-sia-signature': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
    body,
    signal: AbortSignal.timeout(5_000),
  })
    .then((response) => {
      if (!response.ok) console.error(`webhook answered HTTP ${response.status}`);
    })
    .catch((error: unknown) => console.error(`webhook delivery failed: ${String(error)}`))
    .finally(() => deliveries.delete(delivery));
  deliveries.add(delivery);
}

// A stand-in for an LLM rewriter, so this runs offline (with a model, leave `rewriter` out).
// It proposes what a hurried engineer might: strip the separators, assuming a string.
const rewriter: Rewriter = {
  name: 'scripted',
  rewrite: async (request) => ({
    source: `function parse_amount({ text }) {
  return Number(text.replace(/,/g, ''));
}`,
    rationale: `strips thousands separators (recent errors: ${request.recentErrors[0] ?? 'none'})`,
    author: 'llm-rewriter',
  }),
};

const agent = new SelfImprovingAgent({
  rewriter,
  improvement: { cooldownMs: 0 },
});
agent.on('tool:promoted', (event) =>
  notify({
    event: 'tool:promoted',
    tool: event.toolName,
    from: event.fromVersion,
    to: event.toVersion,
    author: event.author,
    why: event.rationale,
    scoreBefore: Number(event.evaluation.score.toFixed(3)),
    gate: `${event.regression.verdict} (${event.regression.cases.length} cases)`,
    loop: event.loop,
  }),
);
agent.on('tool:rolled-back', (event) =>
  notify({
    event: 'tool:rolled-back',
    tool: event.toolName,
    from: event.fromVersion,
    to: event.toVersion,
    score: Number(event.evaluation.score.toFixed(3)),
    previousScore: Number(event.previousScore.toFixed(3)),
    why: event.evidence.summary,
  }),
);

try {
  await agent.addTool({
    name: 'parse_amount',
    description: 'Parses an amount (a number, or text such as "12.50")',
    inputSchema: {
      type: 'object',
      properties: { text: { type: ['string', 'number'] } },
      required: ['text'],
    },
    source: `function parse_amount({ text }) {
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error('not a number: ' + text);
  return value;
}`,
    examples: [
      { input: { text: '12.5' }, output: 12.5 },
      { input: { text: '7' }, output: 7 },
    ],
  });

  // Traffic 1: two of every five amounts have thousands separators; v1 fails on them. The
  // evaluator's success-rate test is sure the rate is below 0.8 after about 30 such calls.
  for (let round = 0; round < 8; round += 1) {
    for (const text of ['12', '1,250', '99.5', '3,000', '8']) {
      await agent.invoke('parse_amount', { text }).catch(() => undefined);
    }
  }
  await agent.idle();
  await Promise.all(deliveries);
  console.log(`active after traffic 1: v${(await agent.registry.active('parse_amount')).version}`);

  // Traffic 2: amounts arrive as numbers; v2 throws "text.replace is not a function" on them.
  // 20 of them: enough for the watch to show v2 worse even when v2 was promoted early in
  // traffic 1 and answered many calls well (how early depends on the machine's speed).
  for (let index = 0; index < 20; index += 1) {
    await agent.invoke('parse_amount', { text: index * 10 }).catch(() => undefined);
  }
  await agent.idle();
  await Promise.all(deliveries);
  console.log(`active after traffic 2: v${(await agent.registry.active('parse_amount')).version}`);

  console.log(`webhooks received: ${received.join(', ') || 'none'}`);
} finally {
  await agent.close();
  await Promise.all(deliveries);
  receiver.close();
}
