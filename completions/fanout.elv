
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
            cand -a 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin'
            cand --input 'Read items from FILE (`-` for stdin). Without it, and without `:::`, stdin'
            cand --format 'Item format [default: by extension (.csv .tsv .jsonl), else lines]'
            cand --colsep 'Split lines (or NUL records, or `:::` items) into columns {1} {2}... at SEP'
            cand -j 'Parallel jobs: N, or N% of the CPUs [default: CPUs]'
            cand --jobs 'Parallel jobs: N, or N% of the CPUs [default: CPUs]'
            cand --engine 'Worker pool'
            cand --grace 'How long a signalled job gets before SIGKILL'
            cand --output 'Output grouping'
            cand --progress 'Show progress [WHEN: auto, always, never; bare --progress = always]'
            cand -0 'NUL-separated items (same as --format null)'
            cand --null 'NUL-separated items (same as --format null)'
            cand --shell 'Run the command under /bin/sh -c even when it has several words'
            cand --dry-run 'Print the commands that would run, and run nothing'
            cand --debug-fake-runner 'Testing aid: run items with the scripted fake runner, spawning nothing'
            cand -k 'Write output in input order (jobs still run in parallel)'
            cand --keep-order 'Write output in input order (jobs still run in parallel)'
            cand --tag 'Prefix each output line with the item and a tab'
            cand --no-progress 'Never show progress'
            cand -q 'No summary when every item succeeded'
            cand --quiet 'No summary when every item succeeded'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
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
        &'fanout;help'= {
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fanout;help;completions'= {
        }
        &'fanout;help;man'= {
        }
        &'fanout;help;help'= {
        }
    ]
    $completions[$command]
}
