
use builtin;
use str;

set edit:completion:arg-completer[fanout] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'fanout'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'fanout'= {
            cand -a 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin. Repeatable: each FILE is another input source (every combination)'
            cand --input 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin. Repeatable: each FILE is another input source (every combination)'
            cand --format 'Item format [default: by extension (.csv .tsv .jsonl), else lines]'
            cand -C 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a regular expression as in GNU parallel (`,` `\t` `'' +''`; escape `\|` `\.`)'
            cand --colsep 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a regular expression as in GNU parallel (`,` `\t` `'' +''`; escape `\|` `\.`)'
            cand -I 'Use STR for the item instead of {} (xargs and GNU parallel -I)'
            cand --replace '--replace=STR is -I STR; --replace alone is -I {}'
            cand -d 'Items end at DELIM instead of a newline; escapes \n \t \0 \\ \xHH \NNN'
            cand --delimiter 'Items end at DELIM instead of a newline; escapes \n \t \0 \\ \xHH \NNN'
            cand -E 'An item equal to EOF ends the input (xargs and GNU parallel -E)'
            cand --eof '--eof=EOF is -E EOF; --eof alone sets no end marker'
            cand --trim 'Trim white space around each item and column: n (none), l, r, lr'
            cand --header '`--header :`: the first value of each input source names it (with --colsep, names its columns), for `{name}` placeholders'
            cand -j 'Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs]'
            cand --jobs 'Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs]'
            cand --engine 'Worker pool'
            cand --timeout 'Time limit per attempt: then SIGTERM to the job''s process group, and SIGKILL after --grace'
            cand --retries 'Run a failed item up to N more times'
            cand --retry-delay 'Wait before a retry'
            cand --backoff 'How the retry delay grows: fixed, or exp (doubling, with jitter)'
            cand --max-delay 'Longest retry delay'
            cand --retry-on 'Retry only these failures: exit codes, `timeout`, `signal`, `any` (comma-separated) [default: any exit code, timeout, signal]'
            cand --halt 'Stop early (GNU parallel syntax): never, or now|soon with ,fail=N ,success=N or ,done=N (N a count or a percentage)'
            cand --grace 'How long a signalled job gets before SIGKILL'
            cand --nice 'Run jobs N steps nicer than fanout (GNU parallel''s --nice)'
            cand --delay 'At least DUR between two job starts (GNU parallel''s --delay)'
            cand --shard 'Run only one shard of the items: K/N or slice:K/N (input positions K, K+N...), hash:K/N (by the item''s key: stable when the input is reordered or grows), or from a scheduler''s environment: env, slurm, sge, kubernetes, gitlab, circleci, buildkite, azure, aws-batch, gcp-batch, cloud-run'
            cand --shard-by 'The rule for a scheduler''s shard (--shard env, slurm...) [default: hash]'
            cand --shard-count 'How many shards there are, when the scheduler''s environment does not say (a Kubernetes Indexed Job''s completions)'
            cand -n 'Up to N items per job; `{}` stands for all of them, one argument each'
            cand --max-args 'Up to N items per job; `{}` stands for all of them, one argument each'
            cand -N 'N items per job, `{1}`..`{N}` the job''s items (GNU''s -N)'
            cand --max-replace-args 'N items per job, `{1}`..`{N}` the job''s items (GNU''s -N)'
            cand -L 'N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record'
            cand --max-lines 'N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record'
            cand -s 'At most N bytes of command line per job (arguments with their NULs)'
            cand --max-chars 'At most N bytes of command line per job (arguments with their NULs)'
            cand --block 'About SIZE bytes a block (k m g t: powers of 1000, K M G T: of 1024, as GNU); -N: a file''s size over N times -j [default: 1M; with --pipe-part -10]'
            cand --recend 'What ends a record [default: \n]; escapes \n \t \0 \\ \xHH as in -d'
            cand --recstart 'What starts a record: blocks are cut only before it (and after --recend)'
            cand --output 'Output grouping'
            cand --tagstring 'Prefix each output line with STR, its placeholders filled in, and a tab'
            cand --progress 'Show progress: --progress (always), or --progress=auto|always|never'
            cand --journal 'Record every finished item in FILE (JSON lines, appended) [default: a journal in $XDG_STATE_HOME/fanout/journals]'
            cand --key 'Identify items by this template instead of their bytes (e.g. `{id}`)'
            cand --report 'Write per-item results to FILE: .csv, .tsv, .jsonl, .json or .xml (JUnit). Repeatable'
            cand --events 'Write a JSON-lines event stream to FILE (`-`: stdout; job stdout then goes to stderr)'
            cand --joblog 'GNU parallel''s joblog: a tab-separated row per finished job (`+FILE` appends, `-` is stdout); without --journal, --resume and --resume-failed resume from it, by sequence number'
            cand --results 'Save each job''s stdout, stderr and seq under DIR in GNU parallel''s layout (DIR/1/VALUE/stdout), instead of printing them; a name ending in .csv, .tsv, .json, .jsonl or .xml is a --report'
            cand -0 'NUL-separated items (same as --format null)'
            cand --null 'NUL-separated items (same as --format null)'
            cand -r 'Skip items that are empty or only white space (GNU parallel -r)'
            cand --no-run-if-empty 'Skip items that are empty or only white space (GNU parallel -r)'
            cand --csv 'CSV input with a header row (same as --format csv)'
            cand --shuf 'Run the items in a random order (reads the whole input first)'
            cand --plus 'GNU parallel''s --plus: accepted; {##} and {0#} always work'
            cand --link 'Link the input sources: the Nth item takes each source''s Nth value, the shorter sources wrapping around (GNU parallel''s --link)'
            cand --shell 'Run the command under /bin/sh -c even when it has several words'
            cand --fail-fast 'Stop at the first failure: --halt soon,fail=1'
            cand --dry-run 'Print the commands that would run, and run nothing'
            cand --print0 'With --dry-run: end each command with a NUL byte instead of a newline, bytes raw (for `xargs -0` and items holding newlines)'
            cand --tty 'Run each job in the terminal''s foreground with the terminal as its stdin, one at a time (for ssh or sudo prompts); implies -j1 and --output ungroup'
            cand --debug-fake-runner 'Testing aid: run items with the scripted fake runner, spawning nothing'
            cand --gnu 'GNU parallel''s drop-in mode, also chosen by running fanout under the name `parallel`: the command words form one shell line (values still quoted), --retries N counts all N attempts, and the exit status is the number of failed jobs (101 for more than 100; 255 for an error)'
            cand --quote 'GNU''s `--quote` (under --gnu also `-q`): several command words stay separate arguments, as without --gnu'
            cand -X 'As many items per job as fit the command-line limit, each word that holds `{}` repeated per item (GNU''s context replace)'
            cand -m 'As many items per job as fit, `{}` standing for all of them (GNU''s -m)'
            cand --xargs 'As many items per job as fit, never spread over the job slots (GNU''s --xargs)'
            cand --pipe 'Cut the input (stdin or -a FILE) into blocks of whole records, each one job''s stdin; -N N records a block, -L N lines a record, -0 NUL records'
            cand --pipe-part '--pipe on the regular file given with -a: blocks go from the file to the jobs with splice(2), not through fanout (--pipe does this on any regular file)'
            cand --round-robin 'Start only -j jobs and deal the blocks to whichever is ready (for filters that are slow to start); implies --pipe'
            cand --round 'Start only -j jobs and deal the blocks to whichever is ready (for filters that are slow to start); implies --pipe'
            cand -k 'Write output in input order (jobs still run in parallel)'
            cand --keep-order 'Write output in input order (jobs still run in parallel)'
            cand --tag 'Prefix each output line with the item and a tab'
            cand --no-progress 'Never show progress'
            cand -q 'No summary when every item succeeded'
            cand --quiet 'No summary when every item succeeded'
            cand -u 'GNU parallel''s spellings (README: "Migrating from GNU parallel and xargs"): `-u`/`--ungroup` is --output ungroup'
            cand --ungroup 'GNU parallel''s spellings (README: "Migrating from GNU parallel and xargs"): `-u`/`--ungroup` is --output ungroup'
            cand --line-buffer '`--lb`/`--line-buffer` is --output line'
            cand --group '`--group` is --output group'
            cand --bar '`--bar` and `--eta` are --progress'
            cand --will-cite '`--will-cite`: accepted, nothing printed'
            cand --citation '`--citation`: accepted, nothing printed'
            cand --no-journal 'Keep no journal at all'
            cand --resume 'Skip items the journal records as finished; run the rest. Without --journal, the newest journal of the same command, input and directory'
            cand --retry-failed 'Like --resume, but also run the failed items again'
            cand --resume-failed 'Like --resume, but also run the failed items again'
            cand --force 'Resume even though the journal was written for another command'
            cand --no-annotations 'No `::error` annotations for failed items under GitHub Actions'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand merge 'Merge the journals of a batch''s shards into one summary, report and exit code'
            cand submit 'Submit the whole batch to a scheduler as an array of shards, then merge'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fanout;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fanout;man'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fanout;merge'= {
            cand --report 'Write the merged report to FILE (.json .jsonl .csv .tsv .xml); repeatable'
            cand -a 'The batch''s input, read as the shards read it: say which of its items are in no shard''s journal, or in two'
            cand --input 'The batch''s input, read as the shards read it: say which of its items are in no shard''s journal, or in two'
            cand -q 'No summary when every shard finished and every item succeeded'
            cand --quiet 'No summary when every shard finished and every item succeeded'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fanout;submit'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand slurm 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fanout;submit;slurm'= {
            cand --tasks 'How many array tasks (shards)'
            cand --sbatch-arg 'An option for sbatch (`--sbatch-arg=--partition=debug`); repeatable'
            cand --dir 'Where the batch script, shard journals and logs go; every node must see it [default: fanout-slurm-TIME in the current directory]'
            cand --report 'Write the merged report to FILE; repeatable'
            cand --dry-run 'Print the batch script and submit nothing'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fanout;submit;help'= {
            cand slurm 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fanout;submit;help;slurm'= {
        }
        &'fanout;submit;help;help'= {
        }
        &'fanout;help'= {
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand merge 'Merge the journals of a batch''s shards into one summary, report and exit code'
            cand submit 'Submit the whole batch to a scheduler as an array of shards, then merge'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fanout;help;completions'= {
        }
        &'fanout;help;man'= {
        }
        &'fanout;help;merge'= {
        }
        &'fanout;help;submit'= {
            cand slurm 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
        }
        &'fanout;help;submit;slurm'= {
        }
        &'fanout;help;help'= {
        }
    ]
    $completions[$command]
}
