/**
 * Reads the project's Dockerfile into its stages and instructions, so tests run the image's
 * ENTRYPOINT, CMD and HEALTHCHECK lines exactly as written (with the image's app directory mapped
 * to a local copy) and check the runtime stage's facts. Handles what our Dockerfile uses:
 * comments, `\` continuations, JSON (exec) forms, `ENV k=v ...`, `COPY [--from=stage] src dest`.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

export function parseDockerfile(path: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (m === null) continue;
    const op = (m[1] as string).toUpperCase();
    const args = m[2] as string;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (f === null) throw new Error(`unreadable FROM: ${args}`);
      stages.push({ from: f[1] as string, name: f[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${op} before FROM`);
    stage.instructions.push({ op, args });
  }
  return stages;
}

/** The last instruction `op` of the stage (the one Docker uses for ENTRYPOINT/CMD/HEALTHCHECK). */
export function last(stage: Stage, op: string): Instruction {
  const found = stage.instructions.filter((i) => i.op === op).at(-1);
  if (found === undefined) throw new Error(`no ${op} in the stage FROM ${stage.from}`);
  return found;
}

export function all(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}

/** The exec (JSON array) form; the shell form is refused, as our image must not use it. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed as string[];
}

/** HEALTHCHECK [--opt=v ...] CMD [...]: the options and the command. */
export function healthcheck(stage: Stage): { options: Record<string, string>; command: string[] } {
  const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(last(stage, 'HEALTHCHECK').args);
  if (m === null) throw new Error('HEALTHCHECK is not `[options] CMD [exec form]`');
  const options: Record<string, string> = {};
  for (const o of (m[1] as string).trim().split(/\s+/).filter((x) => x !== '')) {
    const [k = '', v = ''] = o.slice(2).split('=');
    options[k] = v;
  }
  return { options, command: execForm(m[2] as string) };
}

/**
 * Every `ENV k=v ...` of the stage, in order (later wins); values may be double-quoted; `$X` and
 * `${X}` expand from the ENV lines before and then from `base` (the base image's env).
 */
export function envOf(stage: Stage, base: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of all(stage, 'ENV')) {
    const set: Record<string, string> = {};
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const raw = m[2] as string;
      const v = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
      set[m[1] as string] = v.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_s, name: string) => env[name] ?? base[name] ?? '');
    }
    Object.assign(env, set);
  }
  return env;
}
