//! `cargo xtask bench webhook`: the side-by-side webhook bench (docs/benchmarks.md,
//! "Side-by-side bench"). Drives the real server binary over loopback HTTP against
//! testenv with a recorded corpus and measures what the target apiservers saw.

pub mod corpus;
mod fixtures;
mod load;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use breakglass_testenv::TestEnv;
use breakglass_testenv::harness::{self, UpOptions};
use breakglass_testenv::layout::{self, Layout, Settings};

use corpus::Sizes;

/// Arguments of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// The authorization webhook of the release server against testenv.
    Webhook(WebhookArgs),
}

/// Arguments of `cargo xtask bench webhook`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Seconds per load phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients of each load phase.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub clients: Vec<usize>,
    /// Seed of the corpus and of the sessions' groups.
    #[arg(long, default_value_t = 16)]
    pub seed: u64,
    /// A tiny run that checks the tool works: 200 reviews, small state, 1 s at 1 client,
    /// the debug build of the server.
    #[arg(long)]
    pub smoke: bool,
    /// The server binary to run (default: `cargo build --release -p breakglass-server`,
    /// or the debug build with `--smoke`).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Drive a server that is already running (e.g. the reference, for comparison)
    /// instead of starting ours; skips the cold-start phase.
    #[arg(long, conflicts_with = "server_bin")]
    pub server_url: Option<String>,
    /// Process id of the `--server-url` server, for its resident memory.
    #[arg(long, requires = "server_url")]
    pub server_pid: Option<u32>,
    /// Leave the bench's objects on the hub and the targets afterwards.
    #[arg(long)]
    pub keep_fixtures: bool,
    /// Skip the cold-start phase.
    #[arg(long)]
    pub no_cold_start: bool,
}

/// Runs a bench.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Webhook(a) => webhook(&a).map(|_| ()),
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per phase.
    pub phases: Vec<load::Phase>,
    /// Reviews answered otherwise than the corpus expects (all phases).
    pub mismatches: u64,
    /// Reviews that failed (transport or non-200).
    pub errors: u64,
    /// Examples of mismatches and errors.
    pub samples: Vec<String>,
}

/// The repository's `target/` directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// The running testenv, started first when none is.
fn testenv() -> anyhow::Result<TestEnv> {
    if let Ok(env) = TestEnv::load(&layout::default_run_dir()) {
        return Ok(env);
    }
    eprintln!("==> no testenv running: starting one");
    let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
    harness::up(&UpOptions {
        layout: Layout::new(layout::default_run_dir(), settings),
        restart: false,
        kafka: false,
    })?;
    Ok(TestEnv::load(&layout::default_run_dir())?)
}

/// `cargo xtask bench webhook`.
pub fn webhook(args: &WebhookArgs) -> anyhow::Result<Report> {
    let (sizes, seconds, clients) = if args.smoke {
        (Sizes::SMOKE, 1, vec![1])
    } else {
        (Sizes::FULL, args.seconds, args.clients.clone())
    };
    let sut = match (&args.server_url, &args.server_bin) {
        (Some(url), _) => Sut::External {
            url: url.trim_end_matches('/').to_owned(),
            pid: args.server_pid,
        },
        (None, Some(b)) => Sut::Ours { bin: b.clone() },
        (None, None) => Sut::Ours {
            bin: server::build(!args.smoke)?,
        },
    };
    let env = testenv()?;
    breakglass_testenv::harness::install_crypto_provider();
    let reviews = corpus::reviews(&sizes, args.seed);
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!(
        "webhook-corpus-{}-{}.jsonl",
        args.seed, sizes.reviews
    ));
    write_corpus(&file, &reviews)?;
    eprintln!(
        "==> corpus: {} reviews in {}",
        reviews.len(),
        file.display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        fixtures::remove(&env).await?;
        fixtures::create(&env, &sizes).await?;
        let outcome = measure(
            &env,
            &sut,
            &dir,
            &sizes,
            &reviews,
            Duration::from_secs(seconds),
            &clients,
            !args.no_cold_start,
        )
        .await;
        if !args.keep_fixtures {
            fixtures::remove(&env).await?;
        }
        outcome
    })
}

fn write_corpus(file: &std::path::Path, reviews: &[corpus::Review]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    for r in reviews {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The server under test.
enum Sut {
    /// Our binary, started (and restarted for the cold start) by the bench.
    Ours { bin: PathBuf },
    /// A server somebody else started.
    External { url: String, pid: Option<u32> },
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    env: &TestEnv,
    sut: &Sut,
    dir: &std::path::Path,
    sizes: &Sizes,
    reviews: &[corpus::Review],
    seconds: Duration,
    clients: &[usize],
    cold_start: bool,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let targets = load::Targets::connect(env).await?;
    let (mut srv, url, pid) = match sut {
        Sut::Ours { bin } => {
            let s = server::Server::start(env, bin, dir).await?;
            let url = s.url();
            (Some(s), url, None)
        }
        Sut::External { url, pid } => (None, url.clone(), *pid),
    };
    let rss = |srv: &Option<server::Server>| {
        srv.as_ref()
            .map_or_else(|| pid.map_or(0.0, server::rss_mib), server::Server::rss_mib)
    };
    if srv.is_some() {
        fixtures::wait_escalations_ready(env, sizes).await?;
    } else {
        // Another server reports readiness its own way: give its caches time.
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let mut corpus = load::Corpus::new(&url, reviews);
    // Warm-up: one pass at 8 clients fills the caches; then the background rate of the
    // targets (controllers, leases, the server's probes) with the server idle.
    eprintln!("==> warm-up");
    let warm = corpus.pass(8).await?;
    report.errors += warm.errors;
    report.mismatches += warm.mismatches;
    report.samples.extend(warm.samples);
    let background = targets.background(Duration::from_secs(3)).await?;
    for &n in clients {
        eprintln!("==> {n} client(s) for {seconds:?}");
        let before = targets.scrape().await?;
        let mut phase = corpus.timed(n, seconds).await?;
        let after = targets.scrape().await?;
        phase.name = format!("{n} client{}", if n == 1 { "" } else { "s" });
        phase.set_targets(&before, &after, &background);
        phase.rss_mib = rss(&srv);
        report.mismatches += phase.mismatches;
        report.errors += phase.errors;
        report.samples.extend(phase.samples.iter().cloned());
        report.phases.push(phase);
    }
    let restart = if cold_start { srv.take() } else { None };
    if let (Some(running), Sut::Ours { bin }) = (restart, sut) {
        eprintln!("==> cold start: restarting the server, one pass over the corpus");
        running.stop()?;
        let restarted = server::Server::start(env, bin, dir).await?;
        // The new process listens on another port.
        corpus = load::Corpus::new(&restarted.url(), reviews);
        srv = Some(restarted);
        let before = targets.scrape().await?;
        let mut phase = corpus.pass(1).await?;
        let after = targets.scrape().await?;
        phase.name = "cold start, 1 pass".to_owned();
        phase.set_targets(&before, &after, &background);
        phase.rss_mib = rss(&srv);
        phase.group_targets = Some(corpus::group_targets(sizes, reviews));
        report.mismatches += phase.mismatches;
        report.errors += phase.errors;
        report.samples.extend(phase.samples.iter().cloned());
        report.phases.push(phase);
    }
    if let Some(s) = srv {
        s.stop()?;
    }
    print_table(&report, &background, reviews.len());
    Ok(report)
}

fn print_table(report: &Report, background: &load::Background, reviews: usize) {
    println!();
    println!(
        "| phase | reviews | reviews/s | p50 ms | p99 ms | p99.9 ms | server RSS MiB | SAR creates/review | target requests/review |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for p in &report.phases {
        println!(
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.1} | {:.3} | {:.3} |",
            p.name,
            p.count,
            p.throughput(),
            p.percentile(50.0),
            p.percentile(99.0),
            p.percentile(99.9),
            p.rss_mib,
            p.per_review(p.sar_creates),
            p.per_review(p.target_requests),
        );
    }
    for p in &report.phases {
        if let Some(pairs) = p.group_targets {
            println!(
                "\ncold start: {} SubjectAccessReviews and {:.0} target requests for {} distinct (group, target) pairs ({:.2} SARs per pair)",
                p.sar_creates,
                p.target_requests,
                pairs,
                p.sar_creates / pairs.max(1) as f64
            );
        }
    }
    println!(
        "\ncorpus {reviews} reviews; target background {:.1} requests/s (subtracted); {} mismatches, {} errors",
        background.per_second, report.mismatches, report.errors
    );
    for s in report.samples.iter().take(10) {
        println!("  {s}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// `--smoke` end to end against testenv: the server answers every review as the
    /// corpus expects and the target metrics are read (skipped without testenv when
    /// `BREAKGLASS_SKIP_TESTENV` is set).
    #[test]
    fn smoke() {
        if TestEnv::get().unwrap().is_none() {
            return;
        }
        let report = webhook(&WebhookArgs {
            seconds: 1,
            clients: vec![1],
            seed: 16,
            smoke: true,
            server_bin: None,
            server_url: None,
            server_pid: None,
            keep_fixtures: false,
            no_cold_start: false,
        })
        .unwrap();
        assert_eq!(report.errors, 0);
        assert_eq!(report.mismatches, 0);
        assert_eq!(report.phases.len(), 2, "{report:?}");
        assert!(report.phases.iter().all(|p| p.count > 0), "{report:?}");
        let cold = &report.phases[1];
        assert_eq!(cold.count, 200, "one pass over the smoke corpus");
        assert!(cold.rss_mib > 1.0, "{report:?}");
    }
}
