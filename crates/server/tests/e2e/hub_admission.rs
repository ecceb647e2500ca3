//! The hub's admission webhooks (`/validate-breakglass`, `/mutate-breakglass`) as the
//! hub's own apiserver calls them: every invalid fixture is refused with the messages
//! `bgctl validate` prints for it, the samples pass (but for the sample MailProvider,
//! which would be a second default next to testenv's), the cross-object rules refuse
//! their conflicts and warn about dangling references, and aliases are rewritten to
//! canonical fields before the object is stored. Only objects carrying this test's
//! label are sent to the webhooks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use breakglass_testenv::{HUB, TestEnv};
use serde_json::{Value, json};

use crate::cli_support::{bgctl, home};
use crate::support::*;

const LABEL: &str = "breakglass-e2e/admission";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/fixtures/admission")
        .join(name)
}

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/samples")
}

fn yaml_docs(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// `doc` with this test's label, written as a JSON file of its own.
fn labelled(doc: &Value, id: &str, file: &str) -> anyhow::Result<PathBuf> {
    let mut doc = doc.clone();
    doc["metadata"]["labels"][LABEL] = json!(id);
    let path = work_dir().join(format!("admission-{id}-{file}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&doc)?)?;
    Ok(path)
}

async fn dry_run(
    env: &TestEnv,
    ns: &str,
    file: &Path,
    extra: &[&str],
) -> anyhow::Result<breakglass_testenv::KubectlOutput> {
    let path = file.display().to_string();
    let mut args = vec!["create", "--dry-run=server", "-n", ns, "-f", path.as_str()];
    args.extend_from_slice(extra);
    Ok(env.kubectl(HUB, None, &args).await?)
}

/// Waits until the apiserver sends this test's objects to the webhook.
async fn wait_effective(env: &TestEnv, ns: &str, id: &str) -> anyhow::Result<()> {
    let probe = yaml_docs(&fixture("invalid.yaml"))?
        .into_iter()
        .next()
        .context("no fixture")?;
    let file = labelled(&probe, id, "probe")?;
    let started = std::time::Instant::now();
    loop {
        let out = dry_run(env, ns, &file, &[]).await?;
        if out
            .stderr
            .contains("validate.breakglass.t-caas.telekom.com")
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the hub does not call the webhook after 30 s: {out:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn the_hub_refuses_what_bgctl_validate_refuses_and_cross_object_conflicts()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let fx = Fixture::new(&env, "hubadm").await?;
    let (server, tls_addr) = admission_server(&env, &fx.id).await?;
    let name = format!("breakglass-e2e-hub-admission-{}", fx.id);
    env.register_hub_admission(&name, tls_addr.parse()?, (LABEL, &fx.id))
        .await?;
    let result = scenarios(&env, &fx).await;
    let _ = env.unregister_hub_admission(&name).await;
    if result.is_err() {
        eprintln!("admission server log:\n{}", server.log_text());
    }
    drop(server);
    fx.cleanup().await?;
    result
}

async fn scenarios(env: &TestEnv, fx: &Fixture) -> anyhow::Result<()> {
    let (ns, id) = (fx.ns.as_str(), fx.id.as_str());
    wait_effective(env, ns, id).await?;

    // 1. Every invalid fixture: bgctl's messages are the hub's refusal.
    let bgctl_home = home("hub-admission")?;
    for (i, doc) in yaml_docs(&fixture("invalid.yaml"))?.iter().enumerate() {
        let file = labelled(doc, id, &format!("invalid-{i}"))?;
        let out = bgctl(&bgctl_home)
            .await?
            .args(["validate", "-f"])
            .arg(&file)
            .output()?;
        assert_eq!(
            out.status.code(),
            Some(1),
            "bgctl validate refuses fixture {i}"
        );
        let printed = String::from_utf8_lossy(&out.stdout).to_string();
        let subject = format!(
            "{}/{}: ",
            doc["kind"].as_str().unwrap_or_default(),
            doc["metadata"]["name"].as_str().unwrap_or_default()
        );
        let messages: Vec<&str> = printed
            .lines()
            .filter_map(|l| l.split_once(&subject).map(|(_, m)| m))
            .collect();
        assert!(!messages.is_empty(), "bgctl printed {printed}");
        let refused = dry_run(env, ns, &file, &[]).await?;
        assert!(
            !refused.success(),
            "the hub admitted fixture {i}: {refused:?}"
        );
        assert!(
            refused.stderr.contains(
                "admission webhook \"validate.breakglass.t-caas.telekom.com\" denied the request"
            ),
            "fixture {i} refused by the webhook: {}",
            refused.stderr
        );
        for m in messages {
            assert!(
                refused.stderr.contains(m),
                "fixture {i}: {m:?} not in {}",
                refused.stderr
            );
        }
    }

    // 2. The samples pass; the sample MailProvider is a second default next to testenv's.
    let mut samples: Vec<PathBuf> = std::fs::read_dir(samples_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    samples.sort();
    assert!(samples.len() >= 11, "{samples:?}");
    for sample in &samples {
        let stem = sample
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for (i, doc) in yaml_docs(sample)?.iter().enumerate() {
            let doc_ns = doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or(ns)
                .to_owned();
            // Renamed: testenv already holds objects of some sample names (target-a).
            let mut doc = doc.clone();
            let renamed = format!(
                "{}-{id}",
                doc["metadata"]["name"].as_str().unwrap_or("sample")
            );
            doc["metadata"]["name"] = json!(renamed);
            let file = labelled(&doc, id, &format!("{stem}-{i}"))?;
            let out = dry_run(env, &doc_ns, &file, &[]).await?;
            if doc["kind"] == "MailProvider" && doc["spec"]["default"] == true {
                assert!(!out.success(), "{out:?}");
                assert!(
                    out.stderr.contains("spec.default: Forbidden: MailProvider \"testenv-mailpit\" is already the default"),
                    "{}",
                    out.stderr
                );
            } else {
                assert!(out.success(), "sample {stem} #{i} refused: {}", out.stderr);
            }
        }
    }

    // 3. Conflicts with what the hub holds.
    let esc = |name: &str, extra: Value| {
        let mut spec = json!({"escalatedGroup": format!("adm-{id}"),
            "allowed": {"clusters": ["target-a"], "groups": ["developers"]},
            "approvers": {"groups": ["sre-leads"]}});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassEscalation",
               "metadata": {"name": name}, "spec": spec})
    };
    let first = labelled(&esc(&format!("dup-{id}"), json!({})), id, "dup")?;
    let created = env
        .kubectl(
            HUB,
            None,
            &["create", "-n", ns, "-f", &first.display().to_string()],
        )
        .await?;
    assert!(created.success(), "{created:?}");
    // The watch must have delivered it before the second one is judged.
    let dup_name = format!("dup-{id}");
    let mut twin = None;
    for _ in 0..50 {
        let out = dry_run(env, "breakglass-system", &first, &[]).await?;
        if !out.success() {
            twin = Some(out);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let twin =
        twin.context("a BreakglassEscalation of the same name in another namespace was admitted")?;
    assert!(
        twin.stderr.contains(&format!(
            "metadata.name: Forbidden: a BreakglassEscalation named \"{dup_name}\" already exists in namespace \"{ns}\""
        )),
        "{}",
        twin.stderr
    );

    let issuer = env.dex_issuer();
    let idp = json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "IdentityProvider",
        "metadata": {"name": format!("dex-copy-{id}")},
        "spec": {"issuer": issuer, "oidc": {"authority": issuer, "clientID": "x", "expectedAudience": "y"}}});
    let out = dry_run(env, ns, &labelled(&idp, id, "idp")?, &[]).await?;
    assert!(!out.success(), "{out:?}");
    assert!(
        out.stderr
            .contains("IdentityProvider \"testenv-dex\" already has the issuer"),
        "{}",
        out.stderr
    );

    let config_map = json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugPodTemplate",
        "metadata": {"name": format!("cm-{id}")},
        "spec": {"templateString": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}});
    let out = dry_run(env, ns, &labelled(&config_map, id, "cm")?, &[]).await?;
    assert!(!out.success(), "{out:?}");
    assert!(
        out.stderr
            .contains("the first rendered document is a ConfigMap"),
        "{}",
        out.stderr
    );

    // 4. A dangling reference is admitted with a warning.
    let dangling = labelled(
        &esc(
            &format!("dangling-{id}"),
            json!({"mailProvider": "no-such-provider"}),
        ),
        id,
        "dangling",
    )?;
    let out = dry_run(env, ns, &dangling, &[]).await?;
    assert!(out.success(), "{out:?}");
    assert!(
        out.stderr.contains(
            "Warning: spec.mailProvider: MailProvider \"no-such-provider\" does not exist"
        ),
        "{}",
        out.stderr
    );

    // 5. The mutating webhook stores the canonical form of an alias.
    let alias = json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
        "metadata": {"name": format!("alias-{id}")},
        "spec": {"podTemplateRef": "busybox", "allowed": {"groups": ["developers"]}}});
    let out = dry_run(env, ns, &labelled(&alias, id, "alias")?, &["-o", "json"]).await?;
    assert!(out.success(), "{out:?}");
    let stored: Value = serde_json::from_str(&out.stdout)?;
    assert_eq!(
        stored["spec"]["podTemplateRef"],
        json!({"name": "busybox"}),
        "{stored}"
    );
    Ok(())
}
