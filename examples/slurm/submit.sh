#!/bin/sh
# Queues the 4 shard tasks and, after all of them succeeded, the merge. Run from the folder that holds
# jobs/ (examples/reviews.yaml is one); BATCHLABEL_JOB and BATCHLABEL_OUTPUT override the job file and the
# export path, BATCHLABEL the command (default: batchlabel on the PATH).
set -e
here=$(dirname "$0")
mkdir -p logs
array=$(sbatch --parsable "$here/label-shards.sbatch")
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$here/merge.sbatch")
echo "shards: job $array (tasks 0-3); merge: job $merge, after all of them"
