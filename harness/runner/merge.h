/* merge.h — `skv merge`: the shards of one suite run (`skv run --shard I/N`, on one host's GPUs or
 * on many nodes) joined into one run folder. */
#ifndef SKV_MERGE_H
#define SKV_MERGE_H

/* Join the n run folders dirs (every shard I/N of one suite, each complete, of one suite file, commit
 * and mode) into out_dir (made; it must not hold a run): results.csv with the rows in the suite's
 * order, meta.json (the first shard's, with the whole suite's counts, no shard, and merged_from
 * listing every shard's folder, run id, host, GPU and times), summary.md, report.html and the suite's
 * plots. Returns 0, or 2 with the reason on stderr when the shards do not make one whole run (a
 * shard missing or twice, another suite, commit or mode, an incomplete shard, a row that is not the
 * shard's), 1 on an I/O error. */
int skv_merge_runs(const char *const *dirs, int n, const char *out_dir);

#endif /* SKV_MERGE_H */
