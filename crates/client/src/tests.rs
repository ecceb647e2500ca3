//! The client against a local one-shot HTTP server: what it sends (paths, queries,
//! bodies) and how it maps the answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use breakglass_api::rest::debug::InjectRequest;
use breakglass_api::rest::sessions::{CreateSessionRequest, DecisionRequest, ListQuery};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{Client, Error, Options};

/// What the server saw.
#[derive(Debug)]
struct Seen {
    /// `METHOD target`.
    line: String,
    /// Request body.
    body: String,
}

/// Serves one request with `status`, extra header lines and `body`; returns the client
/// and a handle that yields the request the server saw.
async fn one_shot(
    status: &str,
    headers: &str,
    body: &str,
) -> (Client, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
    let handle = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed early");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (pos + 4, length);
            }
        };
        while buf.len() < head_end + length {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
        }
        sock.write_all(response.as_bytes()).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let line = head
            .lines()
            .next()
            .unwrap()
            .trim_end_matches(" HTTP/1.1")
            .to_owned();
        Seen {
            line,
            body: String::from_utf8_lossy(&buf[head_end..]).into_owned(),
        }
    });
    let client = Client::new(
        &format!("http://{addr}"),
        Some("tok".to_owned()),
        &Options::default(),
    )
    .unwrap();
    (client, handle)
}

#[tokio::test]
async fn api_errors_map_to_status_code_reason_and_request_id() {
    let (client, seen) = one_shot(
        "403 Forbidden",
        "x-request-id: req-7\r\n",
        r#"{"error":"you may not approve your own session","code":"FORBIDDEN","reason":"SELF_APPROVAL_BLOCKED"}"#,
    )
    .await;
    let err = client
        .approve_session("s1", &DecisionRequest::default())
        .await
        .unwrap_err();
    match err {
        Error::Api {
            status,
            code,
            reason,
            message,
            request_id,
        } => {
            assert_eq!(status, 403);
            assert_eq!(code, "FORBIDDEN");
            assert_eq!(reason.as_deref(), Some("SELF_APPROVAL_BLOCKED"));
            assert_eq!(message, "you may not approve your own session");
            assert_eq!(request_id.as_deref(), Some("req-7"));
        }
        other => panic!("{other:?}"),
    }
    let seen = seen.await.unwrap();
    assert_eq!(seen.line, "POST /api/breakglassSessions/s1/approve");
    assert_eq!(seen.body, r#"{"reason":null}"#);
}

#[tokio::test]
async fn a_failure_without_the_error_shape_still_names_the_status() {
    let (client, _seen) = one_shot("502 Bad Gateway", "", "upstream down").await;
    let err = client.get_session("s1").await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    match err {
        Error::Api { code, message, .. } => {
            assert_eq!(code, "HTTP_502");
            assert_eq!(message, "upstream down");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_success_that_is_not_the_promised_shape_is_a_decode_error() {
    let (client, _seen) = one_shot("200 OK", "", r#"{"items": "nope"}"#).await;
    let err = client
        .list_sessions(&ListQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

#[tokio::test]
async fn names_are_one_path_segment_and_queries_are_encoded() {
    let (client, seen) = one_shot(
        "404 Not Found",
        "",
        r#"{"error":"nope","code":"NOT_FOUND"}"#,
    )
    .await;
    let err = client.get_session("../x y/approve").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(
        seen.await.unwrap().line,
        "GET /api/breakglassSessions/..%2Fx%20y%2Fapprove"
    );

    let (client, seen) = one_shot("200 OK", "", r#"{"items":[],"total":0}"#).await;
    let list = client
        .list_sessions(&ListQuery {
            mine: Some(true),
            state: Some("pending,approved".to_owned()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(list.total, 0);
    assert_eq!(
        seen.await.unwrap().line,
        "GET /api/breakglassSessions?mine=true&state=pending%2Capproved"
    );
}

#[tokio::test]
async fn actions_without_a_body_send_none_and_debug_calls_carry_the_namespace_hint() {
    let (client, seen) = one_shot("409 Conflict", "", r#"{"error":"x","code":"CONFLICT"}"#).await;
    let _ = client.withdraw_session("s1").await.unwrap_err();
    let seen = seen.await.unwrap();
    assert_eq!(seen.line, "POST /api/breakglassSessions/s1/withdraw");
    assert_eq!(seen.body, "");

    let (client, seen) = one_shot(
        "400 Bad Request",
        "",
        r#"{"error":"x","code":"BAD_REQUEST"}"#,
    )
    .await;
    let _ = client
        .inject_ephemeral_container(
            "d1",
            Some("team-a"),
            &InjectRequest {
                namespace: "app".to_owned(),
                pod_name: "p".to_owned(),
                container_name: "dbg".to_owned(),
                image: "busybox:stable".to_owned(),
                ..InjectRequest::default()
            },
        )
        .await
        .unwrap_err();
    let seen = seen.await.unwrap();
    assert_eq!(
        seen.line,
        "POST /api/debugSessions/d1/injectEphemeralContainer?namespace=team-a"
    );
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["podName"], "p");
    assert_eq!(body["containerName"], "dbg");

    // No hint: no query string at all.
    let (client, seen) = one_shot("404 Not Found", "", r#"{"error":"x","code":"NOT_FOUND"}"#).await;
    let _ = client.get_debug_session("d1", None).await.unwrap_err();
    assert_eq!(seen.await.unwrap().line, "GET /api/debugSessions/d1");
}

#[tokio::test]
async fn a_request_body_is_the_wire_type() {
    let (client, seen) = one_shot(
        "422 Unprocessable Entity",
        "",
        r#"{"error":"bad","code":"UNPROCESSABLE_ENTITY"}"#,
    )
    .await;
    let _ = client
        .request_session(&CreateSessionRequest {
            cluster: "c".to_owned(),
            group: "g".to_owned(),
            duration: Some(600),
            ..CreateSessionRequest::default()
        })
        .await
        .unwrap_err();
    let body: serde_json::Value = serde_json::from_str(&seen.await.unwrap().body).unwrap();
    assert_eq!(body["cluster"], "c");
    assert_eq!(body["group"], "g");
    assert_eq!(body["duration"], 600);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{addr}"), None, &Options::default()).unwrap();
    let err = client.frontend_config().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.status(), None);
}
