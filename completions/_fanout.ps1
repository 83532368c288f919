
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'fanout' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'fanout'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'fanout' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin. Repeatable: each FILE is another input source (every combination)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin. Repeatable: each FILE is another input source (every combination)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Item format [default: by extension (.csv .tsv .jsonl), else lines]')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a regular expression as in GNU parallel (`,` `\t` `'' +''`; escape `\|` `\.`)')
            [CompletionResult]::new('--colsep', '--colsep', [CompletionResultType]::ParameterName, 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP, a regular expression as in GNU parallel (`,` `\t` `'' +''`; escape `\|` `\.`)')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Use STR for the item instead of {} (xargs and GNU parallel -I)')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, '--replace=STR is -I STR; --replace alone is -I {}')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Items end at DELIM instead of a newline; escapes \n \t \0 \\ \xHH \NNN')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Items end at DELIM instead of a newline; escapes \n \t \0 \\ \xHH \NNN')
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'An item equal to EOF ends the input (xargs and GNU parallel -E)')
            [CompletionResult]::new('--eof', '--eof', [CompletionResultType]::ParameterName, '--eof=EOF is -E EOF; --eof alone sets no end marker')
            [CompletionResult]::new('--trim', '--trim', [CompletionResultType]::ParameterName, 'Trim white space around each item and column: n (none), l, r, lr')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, '`--header :`: the first value of each input source names it (with --colsep, names its columns), for `{name}` placeholders')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Parallel jobs: N (at most 4096), N% of the CPUs, or 0 (as many as possible) [default: CPUs]')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Worker pool')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit per attempt: then SIGTERM to the job''s process group, and SIGKILL after --grace')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Run a failed item up to N more times')
            [CompletionResult]::new('--retry-delay', '--retry-delay', [CompletionResultType]::ParameterName, 'Wait before a retry')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'How the retry delay grows: fixed, or exp (doubling, with jitter)')
            [CompletionResult]::new('--max-delay', '--max-delay', [CompletionResultType]::ParameterName, 'Longest retry delay')
            [CompletionResult]::new('--retry-on', '--retry-on', [CompletionResultType]::ParameterName, 'Retry only these failures: exit codes, `timeout`, `signal`, `any` (comma-separated) [default: any exit code, timeout, signal]')
            [CompletionResult]::new('--halt', '--halt', [CompletionResultType]::ParameterName, 'Stop early (GNU parallel syntax): never, or now|soon with ,fail=N ,success=N or ,done=N (N a count or a percentage)')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long a signalled job gets before SIGKILL')
            [CompletionResult]::new('--nice', '--nice', [CompletionResultType]::ParameterName, 'Run jobs N steps nicer than fanout (GNU parallel''s --nice)')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'At least DUR between two job starts (GNU parallel''s --delay)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Run only one shard of the items: K/N or slice:K/N (input positions K, K+N...), hash:K/N (by the item''s key: stable when the input is reordered or grows), or from a scheduler''s environment: env, slurm, sge, kubernetes, gitlab, circleci, buildkite, azure, aws-batch, gcp-batch, cloud-run')
            [CompletionResult]::new('--shard-by', '--shard-by', [CompletionResultType]::ParameterName, 'The rule for a scheduler''s shard (--shard env, slurm...) [default: hash]')
            [CompletionResult]::new('--shard-count', '--shard-count', [CompletionResultType]::ParameterName, 'How many shards there are, when the scheduler''s environment does not say (a Kubernetes Indexed Job''s completions)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Up to N items per job; `{}` stands for all of them, one argument each')
            [CompletionResult]::new('--max-args', '--max-args', [CompletionResultType]::ParameterName, 'Up to N items per job; `{}` stands for all of them, one argument each')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'N items per job, `{1}`..`{N}` the job''s items (GNU''s -N)')
            [CompletionResult]::new('--max-replace-args', '--max-replace-args', [CompletionResultType]::ParameterName, 'N items per job, `{1}`..`{N}` the job''s items (GNU''s -N)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record')
            [CompletionResult]::new('--max-lines', '--max-lines', [CompletionResultType]::ParameterName, 'N lines per job (xargs -L; GNU -L implies -X); with --pipe, N lines a record')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'At most N bytes of command line per job (arguments with their NULs)')
            [CompletionResult]::new('--max-chars', '--max-chars', [CompletionResultType]::ParameterName, 'At most N bytes of command line per job (arguments with their NULs)')
            [CompletionResult]::new('--block', '--block', [CompletionResultType]::ParameterName, 'About SIZE bytes a block (k m g t: powers of 1000, K M G T: of 1024, as GNU); -N: a file''s size over N times -j [default: 1M; with --pipe-part -10]')
            [CompletionResult]::new('--recend', '--recend', [CompletionResultType]::ParameterName, 'What ends a record [default: \n]; escapes \n \t \0 \\ \xHH as in -d')
            [CompletionResult]::new('--recstart', '--recstart', [CompletionResultType]::ParameterName, 'What starts a record: blocks are cut only before it (and after --recend)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output grouping')
            [CompletionResult]::new('--tagstring', '--tagstring', [CompletionResultType]::ParameterName, 'Prefix each output line with STR, its placeholders filled in, and a tab')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress: --progress (always), or --progress=auto|always|never')
            [CompletionResult]::new('--journal', '--journal', [CompletionResultType]::ParameterName, 'Record every finished item in FILE (JSON lines, appended) [default: a journal in $XDG_STATE_HOME/fanout/journals]')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Identify items by this template instead of their bytes (e.g. `{id}`)')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write per-item results to FILE: .csv, .tsv, .jsonl, .json or .xml (JUnit). Repeatable')
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Write a JSON-lines event stream to FILE (`-`: stdout; job stdout then goes to stderr)')
            [CompletionResult]::new('--joblog', '--joblog', [CompletionResultType]::ParameterName, 'GNU parallel''s joblog: a tab-separated row per finished job (`+FILE` appends, `-` is stdout); without --journal, --resume and --resume-failed resume from it, by sequence number')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Save each job''s stdout, stderr and seq under DIR in GNU parallel''s layout (DIR/1/VALUE/stdout), instead of printing them; a name ending in .csv, .tsv, .json, .jsonl or .xml is a --report')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'NUL-separated items (same as --format null)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'NUL-separated items (same as --format null)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Skip items that are empty or only white space (GNU parallel -r)')
            [CompletionResult]::new('--no-run-if-empty', '--no-run-if-empty', [CompletionResultType]::ParameterName, 'Skip items that are empty or only white space (GNU parallel -r)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'CSV input with a header row (same as --format csv)')
            [CompletionResult]::new('--shuf', '--shuf', [CompletionResultType]::ParameterName, 'Run the items in a random order (reads the whole input first)')
            [CompletionResult]::new('--plus', '--plus', [CompletionResultType]::ParameterName, 'GNU parallel''s --plus: accepted; {##} and {0#} always work')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'Link the input sources: the Nth item takes each source''s Nth value, the shorter sources wrapping around (GNU parallel''s --link)')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'Run the command under /bin/sh -c even when it has several words')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'Stop at the first failure: --halt soon,fail=1')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the commands that would run, and run nothing')
            [CompletionResult]::new('--print0', '--print0', [CompletionResultType]::ParameterName, 'With --dry-run: end each command with a NUL byte instead of a newline, bytes raw (for `xargs -0` and items holding newlines)')
            [CompletionResult]::new('--tty', '--tty', [CompletionResultType]::ParameterName, 'Run each job in the terminal''s foreground with the terminal as its stdin, one at a time (for ssh or sudo prompts); implies -j1 and --output ungroup')
            [CompletionResult]::new('--debug-fake-runner', '--debug-fake-runner', [CompletionResultType]::ParameterName, 'Testing aid: run items with the scripted fake runner, spawning nothing')
            [CompletionResult]::new('--gnu', '--gnu', [CompletionResultType]::ParameterName, 'GNU parallel''s drop-in mode, also chosen by running fanout under the name `parallel`: the command words form one shell line (values still quoted), --retries N counts all N attempts, and the exit status is the number of failed jobs (101 for more than 100; 255 for an error)')
            [CompletionResult]::new('--quote', '--quote', [CompletionResultType]::ParameterName, 'GNU''s `--quote` (under --gnu also `-q`): several command words stay separate arguments, as without --gnu')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'As many items per job as fit the command-line limit, each word that holds `{}` repeated per item (GNU''s context replace)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'As many items per job as fit, `{}` standing for all of them (GNU''s -m)')
            [CompletionResult]::new('--xargs', '--xargs', [CompletionResultType]::ParameterName, 'As many items per job as fit, never spread over the job slots (GNU''s --xargs)')
            [CompletionResult]::new('--pipe', '--pipe', [CompletionResultType]::ParameterName, 'Cut the input (stdin or -a FILE) into blocks of whole records, each one job''s stdin; -N N records a block, -L N lines a record, -0 NUL records')
            [CompletionResult]::new('--pipe-part', '--pipe-part', [CompletionResultType]::ParameterName, '--pipe on the regular file given with -a: blocks go from the file to the jobs with splice(2), not through fanout (--pipe does this on any regular file)')
            [CompletionResult]::new('--round-robin', '--round-robin', [CompletionResultType]::ParameterName, 'Start only -j jobs and deal the blocks to whichever is ready (for filters that are slow to start); implies --pipe')
            [CompletionResult]::new('--round', '--round', [CompletionResultType]::ParameterName, 'Start only -j jobs and deal the blocks to whichever is ready (for filters that are slow to start); implies --pipe')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Write output in input order (jobs still run in parallel)')
            [CompletionResult]::new('--keep-order', '--keep-order', [CompletionResultType]::ParameterName, 'Write output in input order (jobs still run in parallel)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Prefix each output line with the item and a tab')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary when every item succeeded')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary when every item succeeded')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'GNU parallel''s spellings (README: "Migrating from GNU parallel and xargs"): `-u`/`--ungroup` is --output ungroup')
            [CompletionResult]::new('--ungroup', '--ungroup', [CompletionResultType]::ParameterName, 'GNU parallel''s spellings (README: "Migrating from GNU parallel and xargs"): `-u`/`--ungroup` is --output ungroup')
            [CompletionResult]::new('--line-buffer', '--line-buffer', [CompletionResultType]::ParameterName, '`--lb`/`--line-buffer` is --output line')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, '`--group` is --output group')
            [CompletionResult]::new('--bar', '--bar', [CompletionResultType]::ParameterName, '`--bar` and `--eta` are --progress')
            [CompletionResult]::new('--will-cite', '--will-cite', [CompletionResultType]::ParameterName, '`--will-cite`: accepted, nothing printed')
            [CompletionResult]::new('--citation', '--citation', [CompletionResultType]::ParameterName, '`--citation`: accepted, nothing printed')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Keep no journal at all')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Skip items the journal records as finished; run the rest. Without --journal, the newest journal of the same command, input and directory')
            [CompletionResult]::new('--retry-failed', '--retry-failed', [CompletionResultType]::ParameterName, 'Like --resume, but also run the failed items again')
            [CompletionResult]::new('--resume-failed', '--resume-failed', [CompletionResultType]::ParameterName, 'Like --resume, but also run the failed items again')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Resume even though the journal was written for another command')
            [CompletionResult]::new('--no-annotations', '--no-annotations', [CompletionResultType]::ParameterName, 'No `::error` annotations for failed items under GitHub Actions')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Merge the journals of a batch''s shards into one summary, report and exit code')
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Submit the whole batch to a scheduler as an array of shards, then merge')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fanout;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fanout;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fanout;merge' {
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write the merged report to FILE (.json .jsonl .csv .tsv .xml); repeatable')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'The batch''s input, read as the shards read it: say which of its items are in no shard''s journal, or in two')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The batch''s input, read as the shards read it: say which of its items are in no shard''s journal, or in two')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary when every shard finished and every item succeeded')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary when every shard finished and every item succeeded')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fanout;submit' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('slurm', 'slurm', [CompletionResultType]::ParameterValue, 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fanout;submit;slurm' {
            [CompletionResult]::new('--tasks', '--tasks', [CompletionResultType]::ParameterName, 'How many array tasks (shards)')
            [CompletionResult]::new('--sbatch-arg', '--sbatch-arg', [CompletionResultType]::ParameterName, 'An option for sbatch (`--sbatch-arg=--partition=debug`); repeatable')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Where the batch script, shard journals and logs go; every node must see it [default: fanout-slurm-TIME in the current directory]')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write the merged report to FILE; repeatable')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the batch script and submit nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fanout;submit;help' {
            [CompletionResult]::new('slurm', 'slurm', [CompletionResultType]::ParameterValue, 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fanout;submit;help;slurm' {
            break
        }
        'fanout;submit;help;help' {
            break
        }
        'fanout;help' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Merge the journals of a batch''s shards into one summary, report and exit code')
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Submit the whole batch to a scheduler as an array of shards, then merge')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fanout;help;completions' {
            break
        }
        'fanout;help;man' {
            break
        }
        'fanout;help;merge' {
            break
        }
        'fanout;help;submit' {
            [CompletionResult]::new('slurm', 'slurm', [CompletionResultType]::ParameterValue, 'A Slurm job array: each task runs `fanout --shard slurm` with its own journal')
            break
        }
        'fanout;help;submit;slurm' {
            break
        }
        'fanout;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
