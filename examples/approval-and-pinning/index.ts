/**
 * Human control over the loop: an `approve` callback that sees every promotion (the diff, the
 * gate's numbers, the rewriter's reasons) and may say no, and a pinned tool the agent measures
 * but never changes.
 *
 * Two tools fetch from a local API that fails half of the requests with 503. `fetch_rate` is
 * improved by the hardening rewriter (retries with back-off); the reviewer declines the first
 * proposal and approves the second. `fetch_fee` is pinned ("changes go through review"): it is
 * evaluated like any tool, and every improvement is skipped.
 *
 * Usage: node examples/approval-and-pinning/index.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HardeningRewriter, type PromotionProposal, SelfImprovingAgent } from 'self-improving-agent';

// A local API that answers 503 to a seeded half of the requests.
let seed = 11;
const coin = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648 < 0.5;
};
const api = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (coin()) {
    response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
    return;
  }
  const body = url.pathname === '/fee' ? { fee: 0.015 } : { rate: 0.92 };
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const hostPort = `127.0.0.1:${(api.address() as AddressInfo).port}`;

let reviews = 0;
/** The reviewer: shows what would change, declines the first proposal, approves the next. */
async function approve({ toolName, fromVersion, proposal, regression, diff }: PromotionProposal) {
  reviews += 1;
  const lines = diff.split('\n');
  console.log(`\n--- review ${reviews}: ${toolName} v${fromVersion} → candidate by ${proposal.author}`);
  console.log(`why: ${proposal.rationale}`);
  console.log(
    `gate: ${regression.verdict}, candidate failed ${regression.candidate.errors}/${regression.candidate.runs} runs, v${fromVersion} failed ${regression.baseline?.errors ?? 0}/${regression.baseline?.runs ?? 0}`,
  );
  console.log(lines.slice(0, 14).join('\n'));
  if (lines.length > 14) console.log(`… (${lines.length - 14} more lines of diff)`);
  const approved = reviews > 1;
  console.log(`approval ${reviews}: ${approved ? 'approved' : 'declined (asking for a second look)'}\n`);
  return approved;
}

const agent = new SelfImprovingAgent({
  rewriter: new HardeningRewriter({ baseDelayMs: 5, maxDelayMs: 50 }),
  approve,
  improvement: { evaluateEvery: 5, cooldownMs: 0 },
});
agent.on('tool:evaluated', ({ toolName, version, evaluation }) =>
  console.log(
    `evaluated ${toolName} v${version}: score ${evaluation.score.toFixed(2)}, success ${Math.round(evaluation.summary.successRate * 100)}%`,
  ),
);
agent.on('improvement:skipped', ({ toolName, reason, detail }) =>
  console.log(`${toolName}: improvement skipped (${reason}: ${detail})`),
);
agent.on('improvement:failed', ({ toolName, version, reasons }) =>
  console.log(`${toolName}: v${version} kept (${reasons.join('; ')})`),
);
agent.on('tool:promoted', ({ toolName, fromVersion, toVersion }) =>
  console.log(`PROMOTED ${toolName} v${fromVersion} → v${toVersion}`),
);

const fetchSource = (name: string, path: string, field: string) => `async function ${name}() {
  const response = await fetch('http://${hostPort}${path}');
  if (!response.ok) throw new Error('HTTP ' + response.status);
  return (await response.json()).${field};
}`;

try {
  for (const [name, path, field, output] of [
    ['fetch_rate', '/rate', 'rate', 0.92],
    ['fetch_fee', '/fee', 'fee', 0.015],
  ] as const) {
    await agent.addTool({
      name,
      description: `Fetches the current ${field}`,
      inputSchema: { type: 'object', properties: {} },
      source: fetchSource(name, path, field),
      capabilities: { network: [hostPort] },
      examples: [{ input: {}, output }],
    });
  }
  // Pinned in storage, with a reason: survives restarts and shows in the tool's history.
  // (`improvement: { pinned: ['fetch_fee'] }` pins for this agent only.)
  await agent.registry.pin('fetch_fee', { reason: 'hand-tuned; changes go through review' });

  for (let round = 1; round <= 6; round += 1) {
    console.log(`-- traffic round ${round}: 5 calls of each tool`);
    for (let call = 0; call < 5; call += 1) {
      await agent.invoke('fetch_rate').catch(() => undefined);
      await agent.invoke('fetch_fee').catch(() => undefined);
    }
    await agent.idle();
  }

  console.log('\nafter six rounds:');
  for (const tool of await agent.registry.list()) {
    const versions = await agent.registry.versions(tool.name);
    const summary = await agent.memory.summary(tool.name, { version: tool.activeVersion });
    console.log(
      `${tool.name}: active v${tool.activeVersion} of ${versions.length}, pinned ${tool.pinned}, ` +
        `${summary.successes}/${summary.invocations} calls ok on the active version`,
    );
  }
  console.log('\nfetch_rate history:');
  for (const entry of await agent.registry.history('fetch_rate')) {
    const from = entry.fromVersion === undefined ? '' : ` v${entry.fromVersion}`;
    const versions = entry.toVersion === undefined ? from : `${from ? `${from} →` : ''} v${entry.toVersion}`;
    console.log(`  ${entry.type}${versions}: ${entry.reason.slice(0, 100)}`);
  }
} finally {
  await agent.close();
  api.close();
}
