// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, the top N, and self
// time per source file. Used by bench/large-results.ts; also runs alone:
// npx tsx bench/helpers/cpuprofile-top.ts <file.cpuprofile> [N]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Samples taken between `from` and `to` ms after the profile began. */
export interface ProfileWindow {
  from: number;
  to: number;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = path.indexOf('/src/');
  if (i >= 0) return path.slice(i + 1);
  const m = path.lastIndexOf('node_modules/');
  if (m >= 0) return path.slice(m);
  return path;
}

/** The summary of the samples within `windows` (all samples when there are none). */
export function summariseProfile(
  file: string,
  top = 15,
  windows: readonly ProfileWindow[] = [],
): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map<number, number>();
  let total = 0;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (windows.length > 0 && !windows.some((w) => at >= w.from * 1000 && at <= w.to * 1000)) {
      continue;
    }
    total += dt;
    const id = profile.samples[i]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, self] of selfByNode) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = shortUrl(url);
    const key = `${functionName || '(anonymous)'}  ${where}${where ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + self);
    const fileKey = where || functionName;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + self);
  }
  const idle = byFunction.get('(idle)  ') ?? 0;
  byFunction.delete('(idle)  ');
  byFile.delete('(idle)');
  const busy = total - idle;
  const lines = [
    `${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (not idle)`,
  ];
  const row = (key: string, us: number): string =>
    `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`;
  lines.push('self time by function (% of busy):');
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(row(k, us));
  }
  lines.push('self time by file:');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(row(k, us));
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(summariseProfile(process.argv[2]!, Number(process.argv[3] ?? 15)));
}
