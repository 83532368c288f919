# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fanout_global_optspecs
    string join \n a/input= format= 0/null C/colsep= I= replace= d/delimiter= E= eof= r/no-run-if-empty trim= csv shuf plus link header= j/jobs= engine= shell timeout= retries= retry-delay= backoff= max-delay= retry-on= halt= fail-fast grace= nice= delay= dry-run print0 shard= shard-by= shard-count= tty debug-fake-runner gnu quote n/max-args= N/max-replace-args= L/max-lines= X m xargs s/max-chars= pipe pipe-part block= recend= recstart= round-robin output= k/keep-order tag tagstring= progress= no-progress q/quiet u/ungroup line-buffer group bar will-cite citation journal= no-journal resume retry-failed key= force report= events= no-annotations joblog= results= h/help V/version
end

function __fish_fanout_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fanout_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fanout_using_subcommand
    set -l cmd (__fish_fanout_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fanout -n "__fish_fanout_needs_command" -s a -l input -d 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin. Repeatable: each FILE is another input source (every combination)' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -l format -d 'Item format [default: by extension (.csv .tsv .jsonl), else lines]' -r -f -a "lines\t'One item per line; LF or CRLF endings'
null\t'NUL-separated records (`-0`)'
csv\t'Comma-separated values with a header row'
tsv\t'Tab-separated values with a header row'
jsonl\t'One JSON value per line'"
complete -c fanout -n "__fish_fanout_needs_command" -s C -l colsep -d 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a regular expression as in GNU parallel (`,` `\\t` `\' +\'`; escape `\\|` `\\.`)' -r
complete -c fanout -n "__fish_fanout_needs_command" -s I -d 'Use STR for the item instead of {} (xargs and GNU parallel -I)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l replace -d '--replace=STR is -I STR; --replace alone is -I {}' -r
complete -c fanout -n "__fish_fanout_needs_command" -s d -l delimiter -d 'Items end at DELIM instead of a newline; escapes \\n \\t \\0 \\\\ \\xHH \\NNN' -r
complete -c fanout -n "__fish_fanout_needs_command" -s E -d 'An item equal to EOF ends the input (xargs and GNU parallel -E)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l eof -d '--eof=EOF is -E EOF; --eof alone sets no end marker' -r
complete -c fanout -n "__fish_fanout_needs_command" -l trim -d 'Trim white space around each item and column: n (none), l, r, lr' -r
complete -c fanout -n "__fish_fanout_needs_command" -l header -d '`--header :`: the first value of each input source names it (with --colsep, names its columns), for `{name}` placeholders' -r
complete -c fanout -n "__fish_fanout_needs_command" -s j -l jobs -d 'Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs]' -r
complete -c fanout -n "__fish_fanout_needs_command" -l engine -d 'Worker pool' -r -f -a "threads\t'Explicit worker threads fed by a bounded crossbeam channel'
rayon\t'A rayon thread pool'"
complete -c fanout -n "__fish_fanout_needs_command" -l timeout -d 'Time limit per attempt: then SIGTERM to the job\'s process group, and SIGKILL after --grace' -r
complete -c fanout -n "__fish_fanout_needs_command" -l retries -d 'Run a failed item up to N more times' -r
complete -c fanout -n "__fish_fanout_needs_command" -l retry-delay -d 'Wait before a retry' -r
complete -c fanout -n "__fish_fanout_needs_command" -l backoff -d 'How the retry delay grows: fixed, or exp (doubling, with jitter)' -r -f -a "fixed\t'The same delay every time'
exp\t'Doubling each time, with jitter, up to `--max-delay`'"
complete -c fanout -n "__fish_fanout_needs_command" -l max-delay -d 'Longest retry delay' -r
complete -c fanout -n "__fish_fanout_needs_command" -l retry-on -d 'Retry only these failures: exit codes, `timeout`, `signal`, `any` (comma-separated) [default: any exit code, timeout, signal]' -r
complete -c fanout -n "__fish_fanout_needs_command" -l halt -d 'Stop early (GNU parallel syntax): never, or now|soon with ,fail=N ,success=N or ,done=N (N a count or a percentage)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l grace -d 'How long a signalled job gets before SIGKILL' -r
complete -c fanout -n "__fish_fanout_needs_command" -l nice -d 'Run jobs N steps nicer than fanout (GNU parallel\'s --nice)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l delay -d 'At least DUR between two job starts (GNU parallel\'s --delay)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l shard -d 'Run only one shard of the items: K/N or slice:K/N (input positions K, K+N...), hash:K/N (by the item\'s key: stable when the input is reordered or grows), or from a scheduler\'s environment: env, slurm, sge, kubernetes, gitlab, circleci, buildkite, azure, aws-batch, gcp-batch, cloud-run' -r
complete -c fanout -n "__fish_fanout_needs_command" -l shard-by -d 'The rule for a scheduler\'s shard (--shard env, slurm...) [default: hash]' -r -f -a "hash\t'By xxh64 of the item\'s key bytes'
slice\t'By input position'"
complete -c fanout -n "__fish_fanout_needs_command" -l shard-count -d 'How many shards there are, when the scheduler\'s environment does not say (a Kubernetes Indexed Job\'s completions)' -r
complete -c fanout -n "__fish_fanout_needs_command" -s n -l max-args -d 'Up to N items per job; `{}` stands for all of them, one argument each' -r
complete -c fanout -n "__fish_fanout_needs_command" -s N -l max-replace-args -d 'N items per job, `{1}`..`{N}` the job\'s items (GNU\'s -N)' -r
complete -c fanout -n "__fish_fanout_needs_command" -s L -l max-lines -d 'N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record' -r
complete -c fanout -n "__fish_fanout_needs_command" -s s -l max-chars -d 'At most N bytes of command line per job (arguments with their NULs)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l block -d 'About SIZE bytes a block (k m g t: powers of 1000, K M G T: of 1024, as GNU); -N: a file\'s size over N times -j [default: 1M; with --pipe-part -10]' -r
complete -c fanout -n "__fish_fanout_needs_command" -l recend -d 'What ends a record [default: \\n]; escapes \\n \\t \\0 \\\\ \\xHH as in -d' -r
complete -c fanout -n "__fish_fanout_needs_command" -l recstart -d 'What starts a record: blocks are cut only before it (and after --recend)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l output -d 'Output grouping' -r -f -a "group\t'Each job\'s stdout, then stderr, written whole when it ends'
line\t'Whole lines, jobs interleaved, as they are written'
ungroup\t'Raw: jobs write straight to fanout\'s stdout and stderr'"
complete -c fanout -n "__fish_fanout_needs_command" -l tagstring -d 'Prefix each output line with STR, its placeholders filled in, and a tab' -r
complete -c fanout -n "__fish_fanout_needs_command" -l progress -d 'Show progress: --progress (always), or --progress=auto|always|never' -r -f -a "auto\t'Bars when stderr is a terminal, nothing otherwise'
always\t'Always: bars on a terminal, a plain status line otherwise (or under CI=true)'
never\t'Never'"
complete -c fanout -n "__fish_fanout_needs_command" -l journal -d 'Record every finished item in FILE (JSON lines, appended) [default: a journal in $XDG_STATE_HOME/fanout/journals]' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -l key -d 'Identify items by this template instead of their bytes (e.g. `{id}`)' -r
complete -c fanout -n "__fish_fanout_needs_command" -l report -d 'Write per-item results to FILE: .csv, .tsv, .jsonl, .json or .xml (JUnit). Repeatable' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -l events -d 'Write a JSON-lines event stream to FILE (`-`: stdout; job stdout then goes to stderr)' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -l joblog -d 'GNU parallel\'s joblog: a tab-separated row per finished job (`+FILE` appends, `-` is stdout); without --journal, --resume and --resume-failed resume from it, by sequence number' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -l results -d 'Save each job\'s stdout, stderr and seq under DIR in GNU parallel\'s layout (DIR/1/VALUE/stdout), instead of printing them; a name ending in .csv, .tsv, .json, .jsonl or .xml is a --report' -r -F
complete -c fanout -n "__fish_fanout_needs_command" -s 0 -l null -d 'NUL-separated items (same as --format null)'
complete -c fanout -n "__fish_fanout_needs_command" -s r -l no-run-if-empty -d 'Skip items that are empty or only white space (GNU parallel -r)'
complete -c fanout -n "__fish_fanout_needs_command" -l csv -d 'CSV input with a header row (same as --format csv)'
complete -c fanout -n "__fish_fanout_needs_command" -l shuf -d 'Run the items in a random order (reads the whole input first)'
complete -c fanout -n "__fish_fanout_needs_command" -l plus -d 'GNU parallel\'s --plus: accepted; {##} and {0#} always work'
complete -c fanout -n "__fish_fanout_needs_command" -l link -d 'Link the input sources: the Nth item takes each source\'s Nth value, the shorter sources wrapping around (GNU parallel\'s --link)'
complete -c fanout -n "__fish_fanout_needs_command" -l shell -d 'Run the command under /bin/sh -c even when it has several words'
complete -c fanout -n "__fish_fanout_needs_command" -l fail-fast -d 'Stop at the first failure: --halt soon,fail=1'
complete -c fanout -n "__fish_fanout_needs_command" -l dry-run -d 'Print the commands that would run, and run nothing'
complete -c fanout -n "__fish_fanout_needs_command" -l print0 -d 'With --dry-run: end each command with a NUL byte instead of a newline, bytes raw (for `xargs -0` and items holding newlines)'
complete -c fanout -n "__fish_fanout_needs_command" -l tty -d 'Run each job in the terminal\'s foreground with the terminal as its stdin, one at a time (for ssh or sudo prompts); implies -j1 and --output ungroup'
complete -c fanout -n "__fish_fanout_needs_command" -l debug-fake-runner -d 'Testing aid: run items with the scripted fake runner, spawning nothing'
complete -c fanout -n "__fish_fanout_needs_command" -l gnu -d 'GNU parallel\'s drop-in mode, also chosen by running fanout under the name `parallel`: the command words form one shell line (values still quoted), --retries N counts all N attempts, and the exit status is the number of failed jobs (101 for more than 100; 255 for an error)'
complete -c fanout -n "__fish_fanout_needs_command" -l quote -d 'GNU\'s `--quote` (under --gnu also `-q`): several command words stay separate arguments, as without --gnu'
complete -c fanout -n "__fish_fanout_needs_command" -s X -d 'As many items per job as fit the command-line limit, each word that holds `{}` repeated per item (GNU\'s context replace)'
complete -c fanout -n "__fish_fanout_needs_command" -s m -d 'As many items per job as fit, `{}` standing for all of them (GNU\'s -m)'
complete -c fanout -n "__fish_fanout_needs_command" -l xargs -d 'As many items per job as fit, never spread over the job slots (GNU\'s --xargs)'
complete -c fanout -n "__fish_fanout_needs_command" -l pipe -d 'Cut the input (stdin or -a FILE) into blocks of whole records, each one job\'s stdin; -N N records a block, -L N lines a record, -0 NUL records'
complete -c fanout -n "__fish_fanout_needs_command" -l pipe-part -d '--pipe on the regular file given with -a: blocks go from the file to the jobs with splice(2), not through fanout (--pipe does this on any regular file)'
complete -c fanout -n "__fish_fanout_needs_command" -l round-robin -l round -d 'Start only -j jobs and deal the blocks to whichever is ready (for filters that are slow to start); implies --pipe'
complete -c fanout -n "__fish_fanout_needs_command" -s k -l keep-order -d 'Write output in input order (jobs still run in parallel)'
complete -c fanout -n "__fish_fanout_needs_command" -l tag -d 'Prefix each output line with the item and a tab'
complete -c fanout -n "__fish_fanout_needs_command" -l no-progress -d 'Never show progress'
complete -c fanout -n "__fish_fanout_needs_command" -s q -l quiet -d 'No summary when every item succeeded'
complete -c fanout -n "__fish_fanout_needs_command" -s u -l ungroup -d 'GNU parallel\'s spellings (README: "Migrating from GNU parallel and xargs"): `-u`/`--ungroup` is --output ungroup'
complete -c fanout -n "__fish_fanout_needs_command" -l line-buffer -d '`--lb`/`--line-buffer` is --output line'
complete -c fanout -n "__fish_fanout_needs_command" -l group -d '`--group` is --output group'
complete -c fanout -n "__fish_fanout_needs_command" -l bar -d '`--bar` and `--eta` are --progress'
complete -c fanout -n "__fish_fanout_needs_command" -l will-cite -d '`--will-cite`: accepted, nothing printed'
complete -c fanout -n "__fish_fanout_needs_command" -l citation -d '`--citation`: accepted, nothing printed'
complete -c fanout -n "__fish_fanout_needs_command" -l no-journal -d 'Keep no journal at all'
complete -c fanout -n "__fish_fanout_needs_command" -l resume -d 'Skip items the journal records as finished; run the rest. Without --journal, the newest journal of the same command, input and directory'
complete -c fanout -n "__fish_fanout_needs_command" -l retry-failed -l resume-failed -d 'Like --resume, but also run the failed items again'
complete -c fanout -n "__fish_fanout_needs_command" -l force -d 'Resume even though the journal was written for another command'
complete -c fanout -n "__fish_fanout_needs_command" -l no-annotations -d 'No `::error` annotations for failed items under GitHub Actions'
complete -c fanout -n "__fish_fanout_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fanout -n "__fish_fanout_needs_command" -s V -l version -d 'Print version'
complete -c fanout -n "__fish_fanout_needs_command" -a "completions" -d 'Print a shell completion script'
complete -c fanout -n "__fish_fanout_needs_command" -a "man" -d 'Print the man page (roff)'
complete -c fanout -n "__fish_fanout_needs_command" -a "merge" -d 'Merge the journals of a batch\'s shards into one summary, report and exit code'
complete -c fanout -n "__fish_fanout_needs_command" -a "submit" -d 'Submit the whole batch to a scheduler as an array of shards, then merge'
complete -c fanout -n "__fish_fanout_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fanout -n "__fish_fanout_using_subcommand completions" -s h -l help -d 'Print help'
complete -c fanout -n "__fish_fanout_using_subcommand man" -s h -l help -d 'Print help'
complete -c fanout -n "__fish_fanout_using_subcommand merge" -l report -d 'Write the merged report to FILE (.json .jsonl .csv .tsv .xml); repeatable' -r -F
complete -c fanout -n "__fish_fanout_using_subcommand merge" -s a -l input -d 'The batch\'s input, read as the shards read it: say which of its items are in no shard\'s journal, or in two' -r -F
complete -c fanout -n "__fish_fanout_using_subcommand merge" -s q -l quiet -d 'No summary when every shard finished and every item succeeded'
complete -c fanout -n "__fish_fanout_using_subcommand merge" -s h -l help -d 'Print help'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and not __fish_seen_subcommand_from slurm help" -s h -l help -d 'Print help'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and not __fish_seen_subcommand_from slurm help" -f -a "slurm" -d 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and not __fish_seen_subcommand_from slurm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -l tasks -d 'How many array tasks (shards)' -r
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -l sbatch-arg -d 'An option for sbatch (`--sbatch-arg=--partition=debug`); repeatable' -r
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -l dir -d 'Where the batch script, shard journals and logs go; every node must see it [default: fanout-slurm-TIME in the current directory]' -r -F
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -l report -d 'Write the merged report to FILE; repeatable' -r -F
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -l dry-run -d 'Print the batch script and submit nothing'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from slurm" -s h -l help -d 'Print help'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from help" -f -a "slurm" -d 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
complete -c fanout -n "__fish_fanout_using_subcommand submit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fanout -n "__fish_fanout_using_subcommand help; and not __fish_seen_subcommand_from completions man merge submit help" -f -a "completions" -d 'Print a shell completion script'
complete -c fanout -n "__fish_fanout_using_subcommand help; and not __fish_seen_subcommand_from completions man merge submit help" -f -a "man" -d 'Print the man page (roff)'
complete -c fanout -n "__fish_fanout_using_subcommand help; and not __fish_seen_subcommand_from completions man merge submit help" -f -a "merge" -d 'Merge the journals of a batch\'s shards into one summary, report and exit code'
complete -c fanout -n "__fish_fanout_using_subcommand help; and not __fish_seen_subcommand_from completions man merge submit help" -f -a "submit" -d 'Submit the whole batch to a scheduler as an array of shards, then merge'
complete -c fanout -n "__fish_fanout_using_subcommand help; and not __fish_seen_subcommand_from completions man merge submit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fanout -n "__fish_fanout_using_subcommand help; and __fish_seen_subcommand_from submit" -f -a "slurm" -d 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal'
