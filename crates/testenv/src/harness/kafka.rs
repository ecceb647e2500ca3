//! Apache Kafka, the optional component of `up --with kafka`: one KRaft node that is
//! broker and controller at once, run from Maven Central's jars with the machine's Java.
//!
//! The broker's class path (`org.apache.kafka:kafka_2.13` with its runtime dependencies,
//! plus the SLF4J binding Kafka's own distribution ships) is resolved once by Maven from
//! a generated pom into `<cache>/kafka/kafka-<version>-<key>/libs/`, where `<key>` hashes
//! the pom. A stamp file marks the directory complete, so later starts neither run Maven
//! nor need the network. Every fresh start formats new storage in `<run dir>/kafka/`.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::build::{Versions, cache_root, fmt_duration};
use super::plan::{Health, Planned};
use super::process::{self, Daemon};
use crate::layout::{KafkaRuntime, Layout};

/// Name of the daemon (pid and log file).
pub(crate) const NAME: &str = "kafka";
/// Name of the log of the storage format step.
const FORMAT_LOG: &str = "kafka-format";
/// Name of the file that marks a cached class path as complete.
const STAMP: &str = ".complete";
/// Kafka 4 brokers need Java 17.
const MIN_JAVA: u32 = 17;
/// Upper bound of a metadata response the health probe reads.
const MAX_RESPONSE: usize = 1 << 20;

/// JVM flags of both Java processes: a small heap and the cheaper collector and JIT,
/// because the broker serves a handful of test messages on a 2-core machine.
fn jvm_flags(heap: &str, layout: &Layout) -> Vec<String> {
    vec![
        "-Xms64m".to_owned(),
        heap.to_owned(),
        "-XX:+UseSerialGC".to_owned(),
        "-XX:TieredStopAtLevel=1".to_owned(),
        "-XX:+ExitOnOutOfMemoryError".to_owned(),
        "-Djava.awt.headless=true".to_owned(),
        format!(
            "-Dlog4j2.configurationFile={}",
            layout.kafka_dir().join("log4j2.properties").display()
        ),
    ]
}

/// Finds Java 17+ and the broker's class path, resolving it with Maven when it is not
/// cached yet.
pub(super) fn ensure_runtime() -> anyhow::Result<KafkaRuntime> {
    let versions = Versions::load()?;
    let version = versions.get("KAFKA_VERSION")?.to_owned();
    let java = find_java()?;
    check_java(&java)?;
    let pom = pom(&versions)?;
    let dir = cache_dir(&version, &pom);
    if !dir.join(STAMP).exists() {
        resolve(&versions, &pom, &dir)?;
    }
    Ok(KafkaRuntime {
        version,
        java,
        libs: dir.join("libs"),
    })
}

/// `$JAVA_HOME/bin/java`, else `java` on `PATH`, with symbolic links resolved.
fn find_java() -> anyhow::Result<PathBuf> {
    let from_home = std::env::var_os("JAVA_HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file());
    let found = from_home.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("java"))
                .find(|p| p.is_file())
        })
    });
    let Some(java) = found else {
        bail!(
            "Kafka needs Java {MIN_JAVA} or newer, and there is no `java` on PATH (nor in \
             $JAVA_HOME): install one (Debian: apt-get install default-jre-headless)"
        );
    };
    std::fs::canonicalize(&java).with_context(|| format!("resolving {}", java.display()))
}

fn check_java(java: &Path) -> anyhow::Result<()> {
    let out = Command::new(java)
        .arg("-version")
        .output()
        .with_context(|| format!("running {} -version", java.display()))?;
    // `java -version` writes to stderr.
    let text = String::from_utf8_lossy(&out.stderr);
    match java_major(&text) {
        Some(major) if major >= MIN_JAVA => Ok(()),
        Some(major) => bail!(
            "Kafka needs Java {MIN_JAVA} or newer; {} is Java {major} (set JAVA_HOME to a newer one)",
            java.display()
        ),
        None => bail!(
            "could not tell the version of {}: {}",
            java.display(),
            text.trim()
        ),
    }
}

/// The major version in `java -version` output: `version "17.0.15"` → 17, `"1.8.0_402"` → 8.
fn java_major(text: &str) -> Option<u32> {
    let rest = &text[text.find("version \"")? + "version \"".len()..];
    let version = &rest[..rest.find('"')?];
    let mut parts = version.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// The pom whose runtime dependencies are the broker's class path.
fn pom(v: &Versions) -> anyhow::Result<String> {
    let kafka = v.get("KAFKA_VERSION")?;
    let log4j = v.get("KAFKA_LOG4J_VERSION")?;
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by breakglass testenv: the runtime class path of a Kafka broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>breakglass.testenv</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"#
    ))
}

fn cache_dir(version: &str, pom: &str) -> PathBuf {
    let digest = Sha256::digest(pom.as_bytes());
    let key: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    cache_root()
        .join("kafka")
        .join(format!("kafka-{version}-{key}"))
}

/// Runs Maven to copy the class path into `dir` (through a temporary directory).
fn resolve(v: &Versions, pom: &str, dir: &Path) -> anyhow::Result<()> {
    let version = v.get("KAFKA_VERSION")?;
    let plugin = format!(
        "org.apache.maven.plugins:maven-dependency-plugin:{}:copy-dependencies",
        v.get("MAVEN_DEPENDENCY_PLUGIN_VERSION")?
    );
    println!(
        "testenv: resolving Kafka {version}'s class path with Maven into {}",
        dir.display()
    );
    let started = Instant::now();
    let parent = dir.parent().context("cache directory has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".tmp-kafka-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let pom_file = tmp.join("pom.xml");
    std::fs::write(&pom_file, pom)?;
    let out = Command::new("mvn")
        .args(["-B", "-q", "-ntp", "-f"])
        .arg(&pom_file)
        .arg(&plugin)
        .arg("-DincludeScope=runtime")
        .arg(format!("-DoutputDirectory={}", tmp.join("libs").display()))
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_dir_all(&tmp);
            bail!(
                "Kafka's class path is resolved with Maven, and there is no `mvn` on PATH: \
                 install it (Debian: apt-get install maven)"
            );
        }
        Err(e) => return Err(e).context("running mvn"),
    };
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!(
            "resolving Kafka {version} with Maven failed ({}); Maven Central must be \
             reachable the first time:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let broker = tmp.join("libs").join(format!("kafka_2.13-{version}.jar"));
    if !broker.is_file() {
        bail!("Maven did not copy {}", broker.display());
    }
    let (jars, bytes) = jar_stats(&tmp.join("libs"));
    std::fs::write(
        tmp.join(STAMP),
        format!(
            "kafka={version}\njars={jars}\nresolved_in_seconds={}\n",
            started.elapsed().as_secs()
        ),
    )?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("moving the class path to {}", dir.display()))?;
    println!(
        "testenv: Kafka {version}: {jars} jars, {} MiB, resolved in {}",
        bytes >> 20,
        fmt_duration(started.elapsed())
    );
    Ok(())
}

fn jar_stats(dir: &Path) -> (usize, u64) {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .fold((0, 0), |(n, b), m| (n + 1, b + m.len()))
        })
        .unwrap_or((0, 0))
}

/// `server.properties` of the single combined broker and controller.
fn server_properties(layout: &Layout) -> String {
    let (broker, controller) = (layout.kafka_port(), layout.kafka_controller_port());
    let data = layout.kafka_dir().join("data");
    format!(
        "# Generated by breakglass testenv: one KRaft node, broker and controller at once.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
# Topics appear on first use, with one partition; one node holds every replica.
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Few threads: a test broker, on a machine the clusters share.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
# The log cleaner (compacted internal topics) allocates this on start: 128 MiB by default.
log.cleaner.dedupe.buffer.size=8388608
",
        data = data.display()
    )
}

/// log4j 2 configuration: the console (the daemon's log file), Kafka's INFO lines without
/// its configuration dumps.
const LOG4J: &str = "# Generated by breakglass testenv.
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:testenv.kafka.log.level:-INFO}
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
";

/// A new cluster id: 16 bytes in URL-safe base64, like `kafka-storage random-uuid`, with
/// the top bit cleared so that it never starts with `-` (which would read as a flag).
fn cluster_id(layout: &Layout) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(layout.dir.display().to_string().as_bytes());
    h.update(now.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize()[..16]);
    id[0] &= 0x7f;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn class_path(rt: &KafkaRuntime) -> String {
    format!("{}/*", rt.libs.display())
}

/// Writes fresh configuration and formats fresh storage in `<run dir>/kafka/` (the
/// format step's output goes to `logs/kafka-format.log`).
pub(super) fn prepare(layout: &Layout, rt: &KafkaRuntime) -> anyhow::Result<()> {
    let dir = layout.kafka_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("data"))?;
    let props = dir.join("server.properties");
    std::fs::write(&props, server_properties(layout))?;
    std::fs::write(dir.join("log4j2.properties"), LOG4J)?;
    std::fs::create_dir_all(layout.log_dir())?;
    let log_path = process::log_file(layout, FORMAT_LOG);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let status = Command::new(&rt.java)
        .args(jvm_flags("-Xmx128m", layout))
        .arg("-Dtestenv.kafka.log.level=WARN")
        .arg("-cp")
        .arg(class_path(rt))
        .args(["kafka.tools.StorageTool", "format", "--cluster-id"])
        .arg(cluster_id(layout))
        .arg("--config")
        .arg(&props)
        .arg("--standalone")
        .current_dir(&layout.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("running {}", rt.java.display()))?;
    if !status.success() {
        bail!(
            "formatting Kafka's storage failed ({status}); last lines of {}:\n{}",
            log_path.display(),
            process::log_tail(layout, FORMAT_LOG, 30)
        );
    }
    Ok(())
}

/// The broker daemon; healthy once it lists itself in a metadata response.
pub(super) fn planned(layout: &Layout, rt: &KafkaRuntime) -> Planned {
    let mut args = jvm_flags("-Xmx256m", layout);
    args.extend([
        "-cp".to_owned(),
        class_path(rt),
        "kafka.Kafka".to_owned(),
        layout
            .kafka_dir()
            .join("server.properties")
            .display()
            .to_string(),
    ]);
    Planned {
        daemon: Daemon {
            name: NAME.to_owned(),
            bin: rt.java.clone(),
            args,
            env: vec![],
        },
        health: Health::Kafka(layout.kafka_bootstrap()),
        phase: 3,
    }
}

/// Correlation id of the probe's request.
const PROBE_CORRELATION: i32 = 0x6267;

/// A Metadata request, version 4 (non-flexible; every Kafka 4 broker serves it), for no
/// topics and without topic creation, with its length prefix.
fn metadata_request() -> Vec<u8> {
    let client = b"breakglass-testenv";
    let mut body = Vec::new();
    body.extend(3i16.to_be_bytes()); // api key: Metadata
    body.extend(4i16.to_be_bytes()); // api version
    body.extend(PROBE_CORRELATION.to_be_bytes());
    body.extend(i16::try_from(client.len()).unwrap_or(0).to_be_bytes());
    body.extend(client);
    body.extend(0i32.to_be_bytes()); // topics: empty array (none)
    body.push(0); // allow_auto_topic_creation: false
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend(u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
    out.extend(body);
    out
}

/// Reads a Metadata v4 response (without its length prefix): the brokers' (host, port).
fn metadata_brokers(resp: &[u8]) -> Result<Vec<(String, u16)>, String> {
    struct R<'a>(&'a [u8]);
    impl R<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], String> {
            if self.0.len() < n {
                return Err("metadata response is truncated".to_owned());
            }
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            Ok(head)
        }
        fn i16(&mut self) -> Result<i16, String> {
            let b = self.take(2)?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        }
        fn i32(&mut self) -> Result<i32, String> {
            let b = self.take(4)?;
            Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn string(&mut self) -> Result<Option<String>, String> {
            let n = self.i16()?;
            let Ok(n) = usize::try_from(n) else {
                return Ok(None);
            };
            Ok(Some(String::from_utf8_lossy(self.take(n)?).into_owned()))
        }
    }
    let mut r = R(resp);
    let correlation = r.i32()?;
    if correlation != PROBE_CORRELATION {
        return Err(format!("metadata response for request {correlation}"));
    }
    let _throttle = r.i32()?;
    let count = r.i32()?;
    let count = usize::try_from(count)
        .ok()
        .filter(|c| *c <= 1000)
        .ok_or_else(|| format!("metadata response with {count} brokers"))?;
    let mut brokers = Vec::with_capacity(count);
    for _ in 0..count {
        let _node = r.i32()?;
        let host = r.string()?.unwrap_or_default();
        let port = r.i32()?;
        let _rack = r.string()?;
        brokers.push((host, u16::try_from(port).unwrap_or(0)));
    }
    Ok(brokers)
}

/// Healthy when the broker at `addr` answers a metadata request listing itself (a
/// broker that has not yet registered with the controller lists nobody).
pub(super) async fn probe(addr: SocketAddr) -> Result<(), String> {
    let exchange = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        s.write_all(&metadata_request())
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len)
            .await
            .map_err(|e| format!("{addr}: no metadata response: {e}"))?;
        let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if len > MAX_RESPONSE {
            return Err(format!("{addr}: metadata response of {len} bytes"));
        }
        let mut resp = vec![0u8; len];
        s.read_exact(&mut resp)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let brokers = metadata_brokers(&resp).map_err(|e| format!("{addr}: {e}"))?;
        if brokers.iter().any(|(_, port)| *port == addr.port()) {
            Ok(())
        } else {
            Err(format!("{addr}: the broker has not registered yet"))
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("{addr}: no metadata response within 5s"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions() {
        let modern = "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment";
        assert_eq!(java_major(modern), Some(17));
        assert_eq!(java_major("openjdk version \"25\" 2025-09-16"), Some(25));
        assert_eq!(java_major("java version \"1.8.0_402\""), Some(8));
        assert_eq!(java_major("openjdk version \"21-ea\""), Some(21));
        assert_eq!(java_major("no java here"), None);
    }

    #[test]
    fn metadata_request_is_length_prefixed_v4() {
        let req = metadata_request();
        let len = u32::from_be_bytes([req[0], req[1], req[2], req[3]]) as usize;
        assert_eq!(len, req.len() - 4);
        assert_eq!(&req[4..8], &[0, 3, 0, 4]);
        assert_eq!(&req[req.len() - 5..], &[0, 0, 0, 0, 0]);
    }

    fn response(brokers: &[(&str, i32)]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend(PROBE_CORRELATION.to_be_bytes());
        r.extend(0i32.to_be_bytes());
        r.extend(i32::try_from(brokers.len()).unwrap_or(0).to_be_bytes());
        for (i, (host, port)) in brokers.iter().enumerate() {
            r.extend(i32::try_from(i).unwrap_or(0).to_be_bytes());
            r.extend(i16::try_from(host.len()).unwrap_or(0).to_be_bytes());
            r.extend(host.as_bytes());
            r.extend(port.to_be_bytes());
            r.extend((-1i16).to_be_bytes());
        }
        // cluster id, controller id and topics follow; the probe does not read them.
        r.extend((-1i16).to_be_bytes());
        r.extend(1i32.to_be_bytes());
        r.extend(0i32.to_be_bytes());
        r
    }

    #[test]
    fn metadata_brokers_are_read() {
        let got = metadata_brokers(&response(&[("127.0.0.1", 17190)]));
        assert_eq!(got, Ok(vec![("127.0.0.1".to_owned(), 17190)]));
        assert_eq!(metadata_brokers(&response(&[])), Ok(vec![]));
        let full = response(&[("127.0.0.1", 17190)]);
        assert!(metadata_brokers(&full[..full.len() - 20]).is_err());
        let mut other = full.clone();
        other[3] ^= 1;
        assert!(metadata_brokers(&other).is_err());
    }

    #[test]
    fn cluster_ids_are_kafka_uuids() {
        let l = Layout::new("/x", crate::layout::Settings::default());
        let id = cluster_id(&l);
        assert_eq!(id.len(), 22);
        assert!(!id.starts_with('-'));
        assert_ne!(id, cluster_id(&l));
    }

    #[test]
    fn server_properties_use_the_layout_ports() {
        let l = Layout::new("/run", crate::layout::Settings::default());
        let p = server_properties(&l);
        assert!(p.contains("listeners=PLAINTEXT://127.0.0.1:17190,CONTROLLER://127.0.0.1:17191"));
        assert!(p.contains("log.dirs=/run/kafka/data"));
        assert!(p.contains("process.roles=broker,controller"));
    }
}
