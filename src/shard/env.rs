//! Shards from a scheduler's environment: `--shard slurm` (and the other
//! names) reads that scheduler's task index and count, `--shard env`
//! whichever one scheduler's variables are set. Only when asked: the
//! variables are inherited by every process a task starts, so a fanout
//! nested inside a Slurm task would otherwise shard itself by surprise.

use super::{Rule, Shard};

/// A scheduler or CI service whose tasks know their index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Slurm,
    Sge,
    Kubernetes,
    Gitlab,
    Circleci,
    Buildkite,
    Azure,
    AwsBatch,
    GcpBatch,
    CloudRun,
}

/// Where a provider keeps its index, and how it counts.
struct Vars {
    index: &'static str,
    /// The index of the first task: 0 or 1.
    base: u64,
    count: Option<&'static str>,
}

/// A shard taken from the environment, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromEnv {
    pub shard: Shard,
    /// For the journal and messages: `slurm: SLURM_ARRAY_TASK_ID=3 (task 3 of 4)`.
    pub from: String,
}

impl Provider {
    /// Every provider, in the order `--shard env` looks.
    pub const ALL: [Provider; 10] = [
        Provider::Slurm,
        Provider::Sge,
        Provider::Kubernetes,
        Provider::Gitlab,
        Provider::Circleci,
        Provider::Buildkite,
        Provider::Azure,
        Provider::AwsBatch,
        Provider::GcpBatch,
        Provider::CloudRun,
    ];

    /// The names `--shard` takes.
    pub const NAMES: [&'static str; 11] = [
        "env",
        "slurm",
        "sge",
        "kubernetes",
        "gitlab",
        "circleci",
        "buildkite",
        "azure",
        "aws-batch",
        "gcp-batch",
        "cloud-run",
    ];

    /// The provider `--shard NAME` names (`k8s` and `google-batch` too).
    pub fn named(name: &str) -> Option<Provider> {
        Some(match name {
            "slurm" => Provider::Slurm,
            "sge" => Provider::Sge,
            "kubernetes" | "k8s" => Provider::Kubernetes,
            "gitlab" => Provider::Gitlab,
            "circleci" => Provider::Circleci,
            "buildkite" => Provider::Buildkite,
            "azure" => Provider::Azure,
            "aws-batch" => Provider::AwsBatch,
            "gcp-batch" | "google-batch" => Provider::GcpBatch,
            "cloud-run" => Provider::CloudRun,
            _ => return None,
        })
    }

    /// Its name, as `--shard` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Slurm => "slurm",
            Provider::Sge => "sge",
            Provider::Kubernetes => "kubernetes",
            Provider::Gitlab => "gitlab",
            Provider::Circleci => "circleci",
            Provider::Buildkite => "buildkite",
            Provider::Azure => "azure",
            Provider::AwsBatch => "aws-batch",
            Provider::GcpBatch => "gcp-batch",
            Provider::CloudRun => "cloud-run",
        }
    }

    fn vars(self) -> Vars {
        let (index, base, count) = match self {
            Provider::Slurm => ("SLURM_ARRAY_TASK_ID", 1, Some("SLURM_ARRAY_TASK_COUNT")),
            Provider::Sge => ("SGE_TASK_ID", 1, None),
            Provider::Kubernetes => ("JOB_COMPLETION_INDEX", 0, None),
            Provider::Gitlab => ("CI_NODE_INDEX", 1, Some("CI_NODE_TOTAL")),
            Provider::Circleci => ("CIRCLE_NODE_INDEX", 0, Some("CIRCLE_NODE_TOTAL")),
            Provider::Buildkite => (
                "BUILDKITE_PARALLEL_JOB",
                0,
                Some("BUILDKITE_PARALLEL_JOB_COUNT"),
            ),
            Provider::Azure => (
                "SYSTEM_JOBPOSITIONINPHASE",
                1,
                Some("SYSTEM_TOTALJOBSINPHASE"),
            ),
            Provider::AwsBatch => (
                "AWS_BATCH_JOB_ARRAY_INDEX",
                0,
                Some("AWS_BATCH_JOB_ARRAY_SIZE"),
            ),
            Provider::GcpBatch => ("BATCH_TASK_INDEX", 0, Some("BATCH_TASK_COUNT")),
            Provider::CloudRun => ("CLOUD_RUN_TASK_INDEX", 0, Some("CLOUD_RUN_TASK_COUNT")),
        };
        Vars { index, base, count }
    }

    /// The variables it reads, for messages.
    fn looked_for(self) -> String {
        match self {
            Provider::Slurm => "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX, \
                 SLURM_ARRAY_TASK_STEP and SLURM_ARRAY_TASK_COUNT"
                .to_owned(),
            Provider::Sge => {
                "SGE_TASK_ID, SGE_TASK_FIRST, SGE_TASK_LAST and SGE_TASK_STEPSIZE".to_owned()
            }
            _ => {
                let vars = self.vars();
                match vars.count {
                    Some(count) => format!("{} and {count}", vars.index),
                    None => vars.index.to_owned(),
                }
            }
        }
    }
}

/// What `--shard` asked for besides a fixed `K/N`.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// `--shard-by`.
    pub rule: Rule,
    /// `--shard-count`.
    pub count: Option<u64>,
}

/// `--shard SPEC` with `--shard-by` and `--shard-count`: a fixed `K/N`
/// (`slice:`, `hash:`), `env`, or a provider's name. The source is `None`
/// for a fixed shard.
pub fn resolve(
    spec: &str,
    by: Option<Rule>,
    count: Option<u64>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<(Shard, Option<String>), String> {
    let ask = Ask {
        rule: by.unwrap_or(Rule::Hash),
        count,
    };
    let found = match spec {
        "env" => detect(ask, var)?,
        name => match Provider::named(name) {
            Some(provider) => from_provider(provider, ask, var)?,
            None => {
                if count.is_some() {
                    return Err(
                        "--shard-count is for --shard env or a scheduler's name: a fixed K/N \
                         has its count"
                            .to_owned(),
                    );
                }
                let mut shard = Shard::parse(spec)?;
                if let Some(rule) = by {
                    if spec.contains(':') && rule != shard.rule {
                        return Err(format!(
                            "--shard {spec} names its rule; --shard-by says otherwise"
                        ));
                    }
                    shard.rule = rule;
                }
                return Ok((shard, None));
            }
        },
    };
    Ok((found.shard, Some(found.from)))
}

/// `--shard env`: the one provider whose index variable is set.
pub fn detect(ask: Ask, var: &dyn Fn(&str) -> Option<String>) -> Result<FromEnv, String> {
    let set: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| read(var, p.vars().index).is_some())
        .collect();
    match set.as_slice() {
        [one] => from_provider(*one, ask, var),
        [] => Err(format!(
            "--shard env: no scheduler's task index is set (looked for {})",
            Provider::ALL
                .iter()
                .map(|p| p.vars().index)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        several => Err(format!(
            "--shard env: the variables of several schedulers are set ({}): name the one to \
             use, e.g. --shard {}",
            several
                .iter()
                .map(|p| format!("{} for {}", p.vars().index, p.name()))
                .collect::<Vec<_>>()
                .join(", "),
            several[0].name()
        )),
    }
}

/// `--shard NAME`: the shard the named provider's variables give.
pub fn from_provider(
    provider: Provider,
    ask: Ask,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<FromEnv, String> {
    let name = provider.name();
    let fail = |why: String| format!("--shard {name}: {why}");
    let vars = provider.vars();
    let Some(raw) = read(var, vars.index) else {
        return Err(fail(format!(
            "{} is not set (looked for {}); is this a {} task?",
            vars.index,
            provider.looked_for(),
            describe(provider)
        )));
    };
    let number = |name: &str, text: &str| {
        text.trim()
            .parse::<u64>()
            .map_err(|_| fail(format!("{name}={text} is not a whole number")))
    };
    let id = number(vars.index, &raw)?;
    let (index, env_count, shown) = match provider {
        Provider::Slurm => slurm(var, id).map_err(fail)?,
        Provider::Sge => sge(var, id).map_err(fail)?,
        _ => {
            let count = match vars.count {
                Some(count_var) => match read(var, count_var) {
                    Some(text) => Some(number(count_var, &text)?),
                    None => None,
                },
                None => None,
            };
            let index = id
                .checked_sub(vars.base)
                .map(|i| i + 1)
                .ok_or_else(|| fail(format!("{}={id} is below {}", vars.index, vars.base)))?;
            (index, count, format!("{}={id}", vars.index))
        }
    };
    let count = match (env_count, ask.count) {
        (Some(env), Some(given)) if env != given => {
            return Err(fail(format!(
                "--shard-count {given} differs from the environment's count {env} ({})",
                vars.count.unwrap_or("the array's size")
            )));
        }
        (Some(count), _) | (None, Some(count)) => count,
        (None, None) => {
            return Err(fail(format!(
                "the environment does not say how many tasks there are: give --shard-count N{}",
                match provider {
                    Provider::Kubernetes => " (the Job's .spec.completions)",
                    _ => "",
                }
            )));
        }
    };
    let shard = Shard::new(ask.rule, index, count).ok_or_else(|| {
        fail(format!(
            "{shown} is task {index}, past the task count {count}"
        ))
    })?;
    Ok(FromEnv {
        shard,
        from: format!("{name}: {shown} (task {index} of {count})"),
    })
}

fn describe(provider: Provider) -> &'static str {
    match provider {
        Provider::Slurm => "Slurm job array (sbatch --array=1-N)",
        Provider::Sge => "Grid Engine array job (qsub -t 1-N)",
        Provider::Kubernetes => "Kubernetes Indexed Job (completionMode: Indexed)",
        Provider::Gitlab => "GitLab CI `parallel:` job",
        Provider::Circleci => "CircleCI job with `parallelism:`",
        Provider::Buildkite => "Buildkite step with `parallelism:`",
        Provider::Azure => "Azure Pipelines job with `strategy: parallel:`",
        Provider::AwsBatch => "AWS Batch array job",
        Provider::GcpBatch => "Google Cloud Batch task",
        Provider::CloudRun => "Cloud Run job task",
    }
}

/// A variable's value, `None` when unset, empty, or SGE's `undefined`.
fn read(var: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    var(name).filter(|v| !v.trim().is_empty() && v.trim() != "undefined")
}

/// A Slurm array task: index = (ID - MIN) / STEP + 1 of COUNT, for a
/// regular array only (`--array=0,3,7` is not: MIN+(COUNT-1)*STEP != MAX).
fn slurm(
    var: &dyn Fn(&str) -> Option<String>,
    id: u64,
) -> Result<(u64, Option<u64>, String), String> {
    let get = |name: &str| -> Result<Option<u64>, String> {
        match read(var, name) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{name}={text} is not a whole number")),
        }
    };
    let min = get("SLURM_ARRAY_TASK_MIN")?.ok_or(
        "SLURM_ARRAY_TASK_MIN is not set (SLURM_ARRAY_TASK_ID alone does not say where the array starts)",
    )?;
    let max = get("SLURM_ARRAY_TASK_MAX")?;
    let step = get("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
    let count = match (get("SLURM_ARRAY_TASK_COUNT")?, max) {
        (Some(count), _) => count,
        (None, Some(max)) if max >= min => (max - min) / step + 1,
        _ => return Err("neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is set".into()),
    };
    let shown = format!("SLURM_ARRAY_TASK_ID={id}");
    let irregular = || {
        format!(
            "the job array is irregular (MIN={min} MAX={} STEP={step} COUNT={count}): its task \
             IDs are not MIN, MIN+STEP, ... MAX, so no task can tell its place; submit a range \
             such as --array=1-{count}",
            max.map_or("?".to_owned(), |m| m.to_string()),
        )
    };
    let last = (count.saturating_sub(1))
        .checked_mul(step)
        .and_then(|span| span.checked_add(min));
    if count == 0 || max.is_some_and(|max| last != Some(max)) {
        return Err(irregular());
    }
    if id < min || (id - min) % step != 0 {
        return Err(irregular());
    }
    Ok(((id - min) / step + 1, Some(count), shown))
}

/// A Grid Engine array task: index = (ID - FIRST) / STEPSIZE + 1 of
/// (LAST - FIRST) / STEPSIZE + 1.
fn sge(
    var: &dyn Fn(&str) -> Option<String>,
    id: u64,
) -> Result<(u64, Option<u64>, String), String> {
    let get = |name: &str| -> Result<u64, String> {
        let text = read(var, name).ok_or_else(|| format!("{name} is not set"))?;
        text.trim()
            .parse()
            .map_err(|_| format!("{name}={text} is not a whole number"))
    };
    let (first, last) = (get("SGE_TASK_FIRST")?, get("SGE_TASK_LAST")?);
    let step = get("SGE_TASK_STEPSIZE").unwrap_or(1).max(1);
    if last < first || id < first || (id - first) % step != 0 || id > last {
        return Err(format!(
            "SGE_TASK_ID={id} is not a task of FIRST={first} LAST={last} STEPSIZE={step}"
        ));
    }
    Ok((
        (id - first) / step + 1,
        Some((last - first) / step + 1),
        format!("SGE_TASK_ID={id}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const HASH: Ask = Ask {
        rule: Rule::Hash,
        count: None,
    };

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn shard_of(provider: &str, pairs: &[(&str, &str)], ask: Ask) -> Result<(u64, u64), String> {
        let var = env(pairs);
        let found = match provider {
            "env" => detect(ask, &var)?,
            name => from_provider(Provider::named(name).unwrap(), ask, &var)?,
        };
        Ok((found.shard.index, found.shard.count))
    }

    #[test]
    fn every_provider_by_its_base() {
        // (provider, its variables for its first task of 3, its second).
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let table: &[(&str, Vars, Vars)] = &[
            (
                "slurm",
                &[
                    ("SLURM_ARRAY_TASK_ID", "0"),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_MAX", "4"),
                    ("SLURM_ARRAY_TASK_STEP", "2"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ],
                &[
                    ("SLURM_ARRAY_TASK_ID", "2"),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_MAX", "4"),
                    ("SLURM_ARRAY_TASK_STEP", "2"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ],
            ),
            (
                "sge",
                &[
                    ("SGE_TASK_ID", "1"),
                    ("SGE_TASK_FIRST", "1"),
                    ("SGE_TASK_LAST", "3"),
                    ("SGE_TASK_STEPSIZE", "1"),
                ],
                &[
                    ("SGE_TASK_ID", "2"),
                    ("SGE_TASK_FIRST", "1"),
                    ("SGE_TASK_LAST", "3"),
                    ("SGE_TASK_STEPSIZE", "1"),
                ],
            ),
            (
                "gitlab",
                &[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "3")],
                &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")],
            ),
            (
                "circleci",
                &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "3")],
                &[("CIRCLE_NODE_INDEX", "1"), ("CIRCLE_NODE_TOTAL", "3")],
            ),
            (
                "buildkite",
                &[
                    ("BUILDKITE_PARALLEL_JOB", "0"),
                    ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
                ],
                &[
                    ("BUILDKITE_PARALLEL_JOB", "1"),
                    ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
                ],
            ),
            (
                "azure",
                &[
                    ("SYSTEM_JOBPOSITIONINPHASE", "1"),
                    ("SYSTEM_TOTALJOBSINPHASE", "3"),
                ],
                &[
                    ("SYSTEM_JOBPOSITIONINPHASE", "2"),
                    ("SYSTEM_TOTALJOBSINPHASE", "3"),
                ],
            ),
            (
                "aws-batch",
                &[
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                    ("AWS_BATCH_JOB_ARRAY_SIZE", "3"),
                ],
                &[
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
                    ("AWS_BATCH_JOB_ARRAY_SIZE", "3"),
                ],
            ),
            (
                "gcp-batch",
                &[("BATCH_TASK_INDEX", "0"), ("BATCH_TASK_COUNT", "3")],
                &[("BATCH_TASK_INDEX", "1"), ("BATCH_TASK_COUNT", "3")],
            ),
            (
                "cloud-run",
                &[("CLOUD_RUN_TASK_INDEX", "0"), ("CLOUD_RUN_TASK_COUNT", "3")],
                &[("CLOUD_RUN_TASK_INDEX", "1"), ("CLOUD_RUN_TASK_COUNT", "3")],
            ),
        ];
        for (name, first, second) in table {
            for via in [*name, "env"] {
                assert_eq!(shard_of(via, first, HASH), Ok((1, 3)), "{name} via {via}");
                assert_eq!(shard_of(via, second, HASH), Ok((2, 3)), "{name} via {via}");
            }
        }
        // Kubernetes has no count in the environment.
        let k8s = [("JOB_COMPLETION_INDEX", "2")];
        let counted = Ask {
            count: Some(3),
            ..HASH
        };
        assert_eq!(shard_of("kubernetes", &k8s, counted), Ok((3, 3)));
        assert_eq!(shard_of("env", &k8s, counted), Ok((3, 3)));
        let err = shard_of("k8s", &k8s, HASH).unwrap_err();
        assert!(err.contains("--shard-count"), "{err}");
        assert!(shard_of("k8s", &[("JOB_COMPLETION_INDEX", "3")], counted).is_err());
    }

    #[test]
    fn irregular_and_missing_and_ambiguous() {
        let irregular = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_STEP", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        let err = shard_of("slurm", &irregular, HASH).unwrap_err();
        assert!(err.contains("irregular"), "{err}");
        let huge = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "5"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "18446744073709551615"),
        ];
        let err = shard_of("slurm", &huge, HASH).unwrap_err();
        assert!(err.contains("irregular"), "no overflow: {err}");
        let err = shard_of("slurm", &[], HASH).unwrap_err();
        assert!(err.contains("SLURM_ARRAY_TASK_ID is not set"), "{err}");
        let err = shard_of("env", &[], HASH).unwrap_err();
        assert!(
            err.contains("SLURM_ARRAY_TASK_ID") && err.contains("CI_NODE_INDEX"),
            "{err}"
        );
        let both = [
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "2"),
            ("BATCH_TASK_INDEX", "0"),
        ];
        let err = shard_of("env", &both, HASH).unwrap_err();
        assert!(err.contains("gitlab") && err.contains("gcp-batch"), "{err}");
        // SGE outside an array job says `undefined`.
        let err = shard_of("env", &[("SGE_TASK_ID", "undefined")], HASH).unwrap_err();
        assert!(err.contains("no scheduler"), "{err}");
        // A count given and a different one in the environment.
        let gitlab = [("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "3")];
        let err = shard_of(
            "gitlab",
            &gitlab,
            Ask {
                count: Some(4),
                ..HASH
            },
        )
        .unwrap_err();
        assert!(err.contains("differs"), "{err}");
        assert!(
            shard_of(
                "gitlab",
                &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")],
                HASH
            )
            .is_err()
        );
        assert!(
            shard_of(
                "gitlab",
                &[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "3")],
                HASH
            )
            .is_err()
        );
    }

    #[test]
    fn the_rule_is_asked_for_and_the_source_recorded() {
        let var = env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]);
        let slice = Ask {
            rule: Rule::Slice,
            count: None,
        };
        let found = from_provider(Provider::Gitlab, slice, &var).unwrap();
        assert_eq!(found.shard, Shard::parse("slice:2/3").unwrap());
        assert_eq!(found.from, "gitlab: CI_NODE_INDEX=2 (task 2 of 3)");
    }
}
