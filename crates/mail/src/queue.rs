//! The per-provider delivery queue: bounded, one worker, retries with doubling backoff.
//!
//! Callers only ever `try_send` into the queue: a full queue drops the mail (reported
//! to the [`Observer`]) instead of making an API call or a timer wait for SMTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::template::MailKind;

/// One mail to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// What it is about (for logs and metrics).
    pub kind: MailKind,
    /// `namespace/name` of the session it is about (for logs).
    pub about: String,
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// A failed delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Retrying cannot help (an SMTP 5xx answer, a malformed address).
    pub permanent: bool,
    /// What went wrong.
    pub message: String,
}

impl SendError {
    /// An error worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }

    /// An error not worth retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }
}

/// Something that delivers mail (SMTP, or a fake in tests).
pub trait Transport: Send + Sync + 'static {
    /// Delivers one mail.
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Learns what happens to queued mail (metrics, status, logs).
pub trait Observer: Send + Sync + 'static {
    /// An attempt finished (`attempt` counts from 1).
    fn attempted(&self, mail: &OutgoingMail, attempt: u32, result: Result<(), &SendError>);
    /// The mail was delivered.
    fn delivered(&self, mail: &OutgoingMail);
    /// Every attempt failed, or the error was permanent; the mail is gone.
    fn gave_up(&self, mail: &OutgoingMail, error: &SendError);
    /// The queue was full; the mail was never queued.
    fn dropped(&self, mail: &OutgoingMail);
}

/// Retries and queue size of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
    /// Mails waiting (including the one being sent) before new ones are dropped.
    pub queue_size: usize,
}

impl Default for RetryPolicy {
    /// The MailProvider CRD's defaults: 3 retries from 100 ms, 1000 queued.
    fn default() -> Self {
        Self {
            retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(60),
            queue_size: 1000,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): initial · 2^(retry-1), capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The queue was full; the mail was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("mail queue full")]
pub struct QueueFull;

/// A bounded queue with one delivery worker. Dropping the queue closes it: the worker
/// delivers what was queued (with its retries) and ends.
pub struct Queue {
    tx: mpsc::Sender<OutgoingMail>,
    depth: Arc<AtomicUsize>,
    observer: Arc<dyn Observer>,
}

impl Queue {
    /// Starts the worker on the current tokio runtime.
    pub fn start(
        transport: Arc<dyn Transport>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(policy.queue_size.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        tokio::spawn(work(rx, transport, policy, observer.clone(), depth.clone()));
        Self {
            tx,
            depth,
            observer,
        }
    }

    /// Queues a mail without waiting; a full queue drops it.
    pub fn enqueue(&self, mail: OutgoingMail) -> Result<(), QueueFull> {
        // Count first so the depth never underflows when the worker is quick.
        self.depth.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(mail) {
            Ok(()) => Ok(()),
            Err(
                mpsc::error::TrySendError::Full(mail) | mpsc::error::TrySendError::Closed(mail),
            ) => {
                self.depth.fetch_sub(1, Ordering::SeqCst);
                self.observer.dropped(&mail);
                Err(QueueFull)
            }
        }
    }

    /// Mails queued or being sent.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }
}

async fn work(
    mut rx: mpsc::Receiver<OutgoingMail>,
    transport: Arc<dyn Transport>,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
    depth: Arc<AtomicUsize>,
) {
    while let Some(mail) = rx.recv().await {
        deliver(&mail, transport.as_ref(), &policy, observer.as_ref()).await;
        depth.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn deliver(
    mail: &OutgoingMail,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    observer: &dyn Observer,
) {
    let mut attempt = 1;
    loop {
        match transport.send(mail).await {
            Ok(()) => {
                observer.attempted(mail, attempt, Ok(()));
                observer.delivered(mail);
                return;
            }
            Err(e) => {
                observer.attempted(mail, attempt, Err(&e));
                if e.permanent || attempt > policy.retries {
                    observer.gave_up(mail, &e);
                    return;
                }
                tokio::time::sleep(policy.backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;

    pub(crate) fn mail(subject: &str) -> OutgoingMail {
        OutgoingMail {
            kind: MailKind::SessionApproved,
            about: "ns/s".into(),
            to: "alice@example.com".into(),
            subject: subject.into(),
            html: "<p>hi</p>".into(),
            text: "hi".into(),
        }
    }

    /// Fails the first `fail` sends (transiently, or permanently), then succeeds; an
    /// optional gate holds every send until opened.
    #[derive(Default)]
    struct Fake {
        fail: Mutex<u32>,
        permanent: bool,
        sent: Mutex<Vec<(String, tokio::time::Instant)>>,
        gate: Option<tokio::sync::Semaphore>,
    }

    impl Transport for Fake {
        fn send<'a>(&'a self, m: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>> {
            Box::pin(async move {
                if let Some(g) = &self.gate {
                    g.acquire().await.unwrap().forget();
                }
                let mut fail = self.fail.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    return Err(if self.permanent {
                        SendError::permanent("550 no")
                    } else {
                        SendError::transient("connection refused")
                    });
                }
                self.sent
                    .lock()
                    .unwrap()
                    .push((m.subject.clone(), tokio::time::Instant::now()));
                Ok(())
            })
        }
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Observer for Log {
        fn attempted(&self, m: &OutgoingMail, n: u32, r: Result<(), &SendError>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("attempt {} {n} {}", m.subject, r.is_ok()));
        }
        fn delivered(&self, m: &OutgoingMail) {
            self.0
                .lock()
                .unwrap()
                .push(format!("delivered {}", m.subject));
        }
        fn gave_up(&self, m: &OutgoingMail, e: &SendError) {
            self.0
                .lock()
                .unwrap()
                .push(format!("gave up {} {e}", m.subject));
        }
        fn dropped(&self, m: &OutgoingMail) {
            self.0
                .lock()
                .unwrap()
                .push(format!("dropped {}", m.subject));
        }
    }

    impl Log {
        fn lines(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    fn policy(retries: u32, queue_size: usize) -> RetryPolicy {
        RetryPolicy {
            retries,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(60),
            queue_size,
        }
    }

    async fn settle(q: &Queue) {
        for _ in 0..10_000 {
            if q.depth() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("queue did not drain");
    }

    #[test]
    fn backoff_doubles_from_the_initial_wait_and_is_capped() {
        let p = policy(10, 10);
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(400));
        assert_eq!(
            p.backoff(10),
            Duration::from_secs(51) + Duration::from_millis(200)
        );
        assert_eq!(p.backoff(11), Duration::from_secs(60));
        assert_eq!(p.backoff(40), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_doubling_waits() {
        let fake = Arc::new(Fake {
            fail: Mutex::new(3),
            ..Fake::default()
        });
        let log = Arc::new(Log::default());
        let q = Queue::start(fake.clone(), policy(3, 10), log.clone());
        let start = tokio::time::Instant::now();
        q.enqueue(mail("m1")).unwrap();
        settle(&q).await;
        let sent = fake.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        // Waits of 100 + 200 + 400 ms before the fourth attempt.
        let waited = sent[0].1 - start;
        assert!(waited >= Duration::from_millis(700), "{waited:?}");
        assert!(waited < Duration::from_millis(800), "{waited:?}");
        assert_eq!(
            log.lines(),
            [
                "attempt m1 1 false",
                "attempt m1 2 false",
                "attempt m1 3 false",
                "attempt m1 4 true",
                "delivered m1"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_last_retry_the_mail_is_given_up() {
        let fake = Arc::new(Fake {
            fail: Mutex::new(10),
            ..Fake::default()
        });
        let log = Arc::new(Log::default());
        let q = Queue::start(fake.clone(), policy(2, 10), log.clone());
        q.enqueue(mail("m1")).unwrap();
        q.enqueue(mail("m2")).unwrap();
        settle(&q).await;
        let lines = log.lines();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("attempt m1")).count(),
            3
        );
        assert!(lines.contains(&"gave up m1 connection refused".to_owned()));
        // The next mail is still worked on.
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("attempt m2")).count(),
            3
        );
        assert!(fake.sent.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_is_not_retried() {
        let fake = Arc::new(Fake {
            fail: Mutex::new(1),
            permanent: true,
            ..Fake::default()
        });
        let log = Arc::new(Log::default());
        let q = Queue::start(fake.clone(), policy(5, 10), log.clone());
        q.enqueue(mail("m1")).unwrap();
        settle(&q).await;
        assert_eq!(log.lines(), ["attempt m1 1 false", "gave up m1 550 no"]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_without_waiting() {
        let fake = Arc::new(Fake {
            gate: Some(tokio::sync::Semaphore::new(0)),
            ..Fake::default()
        });
        let log = Arc::new(Log::default());
        let q = Queue::start(fake.clone(), policy(0, 2), log.clone());
        // One in the worker's hands (held at the gate), two in the channel.
        q.enqueue(mail("m1")).unwrap();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        q.enqueue(mail("m2")).unwrap();
        q.enqueue(mail("m3")).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(q.enqueue(mail("m4")), Err(QueueFull));
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(q.depth(), 3);
        assert!(log.lines().contains(&"dropped m4".to_owned()));
        fake.gate.as_ref().unwrap().add_permits(10);
        settle(&q).await;
        let sent: Vec<String> = fake
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.0.clone())
            .collect();
        assert_eq!(sent, ["m1", "m2", "m3"]);
    }

    #[tokio::test]
    async fn a_dropped_queue_still_delivers_what_it_held() {
        let fake = Arc::new(Fake::default());
        let log = Arc::new(Log::default());
        let q = Queue::start(fake.clone(), policy(0, 10), log.clone());
        q.enqueue(mail("m1")).unwrap();
        q.enqueue(mail("m2")).unwrap();
        drop(q);
        for _ in 0..200 {
            if fake.sent.lock().unwrap().len() == 2 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("queued mail was lost: {:?}", log.lines());
    }
}
