//! Which daemons the environment runs, with their flags, health checks and start phases.

use super::build::Binaries;
use super::process::Daemon;
use crate::layout::{CLUSTERS, HUB, Layout};

/// How a daemon's health is checked.
#[derive(Debug, Clone)]
pub(super) enum Health {
    /// Plain HTTP GET that must answer 200.
    Http(String),
    /// HTTPS GET with the testenv CA (and the admin certificate) that must answer 200.
    Https(String),
    /// A Kafka metadata request that must list the broker at this address.
    Kafka(std::net::SocketAddr),
}

/// A daemon of the environment and how to tell it is healthy.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub(super) daemon: Daemon,
    pub(super) health: Health,
    /// Start phase: 1 = storage and identity, 2 = apiservers, 3 = the rest.
    pub(super) phase: u8,
}

fn s(v: impl Into<String>) -> String {
    v.into()
}

/// Paths and ports one cluster's daemons need.
struct ClusterCtx<'a> {
    layout: &'a Layout,
    bins: &'a Binaries,
    cluster: &'a str,
}

impl ClusterCtx<'_> {
    /// A file of the shared PKI.
    fn pki(&self, f: &str) -> String {
        self.layout.pki_dir().join(f).display().to_string()
    }

    /// A file of this cluster's directory.
    fn file(&self, f: &str) -> String {
        self.layout
            .cluster_dir(self.cluster)
            .join(f)
            .display()
            .to_string()
    }

    fn kubeconfig(&self) -> String {
        self.layout.kubeconfig(self.cluster).display().to_string()
    }

    /// Flags shared by the controller manager and the scheduler.
    fn component_flags(&self, port: u16) -> Vec<String> {
        vec![
            format!("--kubeconfig={}", self.kubeconfig()),
            s("--bind-address=127.0.0.1"),
            format!("--secure-port={port}"),
            s("--leader-elect=false"),
            s("--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics"),
            format!("--tls-cert-file={}", self.pki("serving.crt")),
            format!("--tls-private-key-file={}", self.pki("serving.key")),
            s("--profiling=false"),
        ]
    }
}

pub(super) fn plan(layout: &Layout, bins: &Binaries) -> Vec<Planned> {
    let mut out = Vec::new();
    for cluster in CLUSTERS {
        let x = ClusterCtx {
            layout,
            bins,
            cluster,
        };
        out.push(etcd(&x));
        out.push(apiserver(&x));
        out.push(controller_manager(&x));
        if cluster != HUB {
            out.push(scheduler(&x));
            out.push(kwok(&x));
        }
    }
    out.push(dex(layout, bins));
    out.push(mailpit(layout, bins));
    out
}

/// etcd of one cluster.
fn etcd(x: &ClusterCtx<'_>) -> Planned {
    let ports = x.layout.ports(x.cluster);
    let cluster = x.cluster;
    let c = |f: &str| x.file(f);
    Planned {
        daemon: Daemon {
            name: format!("etcd-{cluster}"),
            bin: x.bins.path("etcd"),
            args: vec![
                format!("--name={cluster}"),
                format!("--data-dir={}", c("etcd")),
                format!(
                    "--listen-client-urls=http://127.0.0.1:{}",
                    ports.etcd_client
                ),
                format!(
                    "--advertise-client-urls=http://127.0.0.1:{}",
                    ports.etcd_client
                ),
                format!("--listen-peer-urls=http://127.0.0.1:{}", ports.etcd_peer),
                format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{}",
                    ports.etcd_peer
                ),
                format!(
                    "--initial-cluster={cluster}=http://127.0.0.1:{}",
                    ports.etcd_peer
                ),
                s("--unsafe-no-fsync"),
                s("--auto-compaction-retention=1"),
                s("--quota-backend-bytes=2147483648"),
                s("--log-level=warn"),
            ],
            env: vec![],
        },
        health: Health::Http(format!("http://127.0.0.1:{}/health", ports.etcd_client)),
        phase: 1,
    }
}

/// The kube-apiserver of one cluster: Node,RBAC on the hub, the webhook chain on targets.
fn apiserver(x: &ClusterCtx<'_>) -> Planned {
    let ports = x.layout.ports(x.cluster);
    let cluster = x.cluster;
    let (layout, bins) = (x.layout, x.bins);
    let c = |f: &str| x.file(f);
    let p = |f: &str| x.pki(f);
    let mut args = vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        s("--bind-address=127.0.0.1"),
        s("--advertise-address=127.0.0.1"),
        format!("--secure-port={}", ports.apiserver),
        s("--endpoint-reconciler-type=none"),
        s("--service-cluster-ip-range=10.96.0.0/16"),
        format!("--tls-cert-file={}", p("serving.crt")),
        format!("--tls-private-key-file={}", p("serving.key")),
        format!("--client-ca-file={}", p("ca.crt")),
        s("--service-account-issuer=https://kubernetes.default.svc.cluster.local"),
        format!(
            "--service-account-key-file={}",
            p(&format!("sa-{cluster}.pub"))
        ),
        format!(
            "--service-account-signing-key-file={}",
            p(&format!("sa-{cluster}.key"))
        ),
        format!("--kubelet-client-certificate={}", p("admin.crt")),
        format!("--kubelet-client-key={}", p("admin.key")),
        s("--allow-privileged=true"),
        s("--enable-priority-and-fairness=false"),
        s("--profiling=false"),
        format!("--authentication-config={}", c("authentication.yaml")),
        format!("--cert-dir={}", c("certs")),
    ];
    if cluster == HUB {
        args.push(s("--authorization-mode=Node,RBAC"));
    } else {
        args.push(format!(
            "--authorization-config={}",
            c("authorization.yaml")
        ));
    }
    Planned {
        daemon: Daemon {
            name: format!("kube-apiserver-{cluster}"),
            bin: bins.path("kube-apiserver"),
            args,
            env: vec![],
        },
        health: Health::Https(format!("{}/readyz", layout.server_url(cluster))),
        phase: 2,
    }
}

/// The kube-controller-manager of one cluster.
fn controller_manager(x: &ClusterCtx<'_>) -> Planned {
    let ports = x.layout.ports(x.cluster);
    let cluster = x.cluster;
    let bins = x.bins;
    let p = |f: &str| x.pki(f);
    let mut kcm = x.component_flags(ports.controller_manager);
    kcm.extend([
        format!("--root-ca-file={}", p("ca.crt")),
        format!(
            "--service-account-private-key-file={}",
            p(&format!("sa-{cluster}.key"))
        ),
        format!("--cluster-signing-cert-file={}", p("ca.crt")),
        format!("--cluster-signing-key-file={}", p("ca.key")),
        s("--use-service-account-credentials=false"),
    ]);
    Planned {
        daemon: Daemon {
            name: format!("kube-controller-manager-{cluster}"),
            bin: bins.path("kube-controller-manager"),
            args: kcm,
            env: vec![],
        },
        health: Health::Https(format!(
            "https://127.0.0.1:{}/healthz",
            ports.controller_manager
        )),
        phase: 3,
    }
}

/// The kube-scheduler of a target cluster.
fn scheduler(x: &ClusterCtx<'_>) -> Planned {
    let ports = x.layout.ports(x.cluster);
    let cluster = x.cluster;
    let bins = x.bins;
    Planned {
        daemon: Daemon {
            name: format!("kube-scheduler-{cluster}"),
            bin: bins.path("kube-scheduler"),
            args: x.component_flags(ports.scheduler),
            env: vec![],
        },
        health: Health::Https(format!("https://127.0.0.1:{}/healthz", ports.scheduler)),
        phase: 3,
    }
}

/// kwok, the simulated kubelet of a target cluster's nodes.
fn kwok(x: &ClusterCtx<'_>) -> Planned {
    let ports = x.layout.ports(x.cluster);
    let cluster = x.cluster;
    let bins = x.bins;
    let dir = &x.layout.dir;
    let kubeconfig = x.kubeconfig();
    let p = |f: &str| x.pki(f);
    Planned {
        daemon: Daemon {
            name: format!("kwok-{cluster}"),
            bin: bins.path("kwok"),
            args: vec![
                format!("--kubeconfig={kubeconfig}"),
                format!("--config={}", dir.join("kwok-stages.yaml").display()),
                s("--manage-all-nodes=true"),
                s("--node-ip=127.0.0.1"),
                format!("--node-port={}", ports.kwok),
                format!("--server-address=127.0.0.1:{}", ports.kwok),
                format!("--tls-cert-file={}", p("serving.crt")),
                format!("--tls-private-key-file={}", p("serving.key")),
                s("--cidr=10.244.0.0/16"),
                s("--node-lease-duration-seconds=40"),
            ],
            env: vec![],
        },
        health: Health::Https(format!("https://127.0.0.1:{}/healthz", ports.kwok)),
        phase: 3,
    }
}

/// Dex, the OIDC provider.
fn dex(layout: &Layout, bins: &Binaries) -> Planned {
    let dir = &layout.dir;
    Planned {
        daemon: Daemon {
            name: s("dex"),
            bin: bins.path("dex"),
            args: vec![
                s("serve"),
                dir.join("dex").join("config.yaml").display().to_string(),
            ],
            env: vec![],
        },
        health: Health::Http(format!(
            "http://127.0.0.1:{}/healthz",
            layout.dex_telemetry_port()
        )),
        phase: 1,
    }
}

/// mailpit, the SMTP catcher.
fn mailpit(layout: &Layout, bins: &Binaries) -> Planned {
    let dir = &layout.dir;
    Planned {
        daemon: Daemon {
            name: s("mailpit"),
            bin: bins.path("mailpit"),
            args: vec![
                format!("--listen=127.0.0.1:{}", layout.mail_http_port()),
                format!("--smtp={}", layout.smtp_addr()),
                s("--smtp-auth-accept-any"),
                s("--smtp-auth-allow-insecure"),
                s("--disable-version-check"),
                format!(
                    "--database={}",
                    dir.join("mail").join("mailpit.db").display()
                ),
            ],
            env: vec![],
        },
        health: Health::Http(format!(
            "http://127.0.0.1:{}/livez",
            layout.mail_http_port()
        )),
        phase: 1,
    }
}
