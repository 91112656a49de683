import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, DataFormatError, DataMissingError, mergeShards, option, type EvaluationReport, type ShardFile } from '@advlab/core';
import { checkOutput, writeFileAtomic } from '@advlab/node';
import { helpText, parseFlags } from '../flags.ts';
import { formatReport } from '../table.ts';

const USAGE = 'advlab merge SHARD_JSON... [--json FILE] [--force]';

const ABOUT = `Combines the JSON reports of the shards of one evaluation (advlab eval --shard I/N --json FILE for every
I of one N, with the same settings) into the report of the unsharded evaluation: the same JSON, figure for
figure, as advlab eval without --shard but with --batching blocks gives with the same seed (wall times are the
sums of the shards'; without --batching blocks an unsharded run batches survivors, and agrees only when n fits one batch). Per
attack and ε, per class and the worst case are computed again from the shards' per-example outcomes; the sanity
checks on the probe come from shard 0, the others run again over all the examples. Refuses, naming the file:
shards of different evaluations (model, data, attacks and their settings, ε, norm, seed, n, batch size, suite),
the same shard twice, a missing shard, a report that is not a shard's.`;

export const MERGE_OPTIONS = {
  json: option.string({ optional: true, placeholder: 'FILE', expected: 'a file path', help: 'write the merged report as JSON' }),
  force: option.boolean({ help: 'replace existing output files' }),
};

export const mergeHelp = helpText(USAGE, ABOUT, MERGE_OPTIONS);

/** A shard's report as `advlab eval --shard I/N --json FILE` wrote it (DataMissingError, DataFormatError otherwise). */
function readShard(file: string): ShardFile {
  if (!existsSync(file)) throw new DataMissingError(file, 'write it with advlab eval --shard I/N --json FILE');
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataFormatError(file, 'an evaluation report (valid JSON)', `invalid JSON: ${(e as Error).message}`);
  }
  if (report === null || typeof report !== 'object' || Array.isArray(report))
    throw new DataFormatError(file, 'an evaluation report (a JSON object)', JSON.stringify(report));
  return { file, report: report as EvaluationReport };
}

/** `advlab merge SHARD_JSON... [--json FILE]`: the merged report, printed as a table and written as JSON when asked. */
export async function merge(argv: string[]): Promise<EvaluationReport> {
  const { values: v, positionals: files } = parseFlags(argv, MERGE_OPTIONS, { positionals: true });
  if (files.length === 0)
    throw new ConfigError('SHARD_JSON', 'the JSON reports of the shards (advlab eval --shard I/N --json FILE)', 'none');
  if (v.json !== undefined) checkOutput({ path: v.json, kind: 'file', key: 'json', inputs: files, force: v.force });
  const { report } = mergeShards(files.map(readShard));
  // The CLI's eval JSON carries the class names; mergeShards checked the shards agree on them and kept them.
  const classNames = (report as EvaluationReport & { class_names?: unknown }).class_names;
  process.stdout.write(`${formatReport(report, Array.isArray(classNames) ? classNames.map(String) : [])}\n`);
  if (v.json !== undefined) {
    writeFileAtomic(v.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${v.json}\n`);
  }
  return report;
}
