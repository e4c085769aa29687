//! Test harness: a real API server on 127.0.0.1:0 over a temp data dir, and a tiny HTTP/1.1 client.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use zonecast_api::{ensure_admin_token, serve, ApiState};
use zonecast_control::Control;
use zonecast_proto::Name;
use zonecast_store::Store;

pub const ADMIN: &str = "zc_test-admin-token";

pub const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A 192.0.2.10\n";

pub struct TestServer {
    pub addr: SocketAddr,
    pub control: Arc<Control>,
    _dir: tempfile::TempDir,
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub fn field(&self) -> String {
        self.json()["error"]["field"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(
            zonecast_api::HttpLimits::default(),
            zonecast_api::KeyRate::off(),
        )
    }

    /// A server with these HTTP limits and per-key rate.
    pub fn start_with(limits: zonecast_api::HttpLimits, rate: zonecast_api::KeyRate) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let control = Arc::new(Control::open(Store::open(dir.path()).unwrap()).unwrap());
        assert_eq!(ensure_admin_token(&control, Some(ADMIN)).unwrap(), None);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let state = ApiState::new(control.clone()).with_limits(limits, rate);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(std_listener).unwrap();
                serve(l, state).await;
            });
        });
        TestServer {
            addr,
            control,
            _dir: dir,
        }
    }

    /// Starts a server with example.com loaded from [`ZONE`].
    pub fn with_zone() -> TestServer {
        let s = TestServer::start();
        let r = s.post(
            "/v1/zones",
            &serde_json::json!({"name": "example.com", "zonefile": ZONE}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        s
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Resp {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_nodelay(true).unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.map(|(ct, b)| {
            req.push_str(&format!("Content-Type: {ct}\r\n"));
            b
        });
        req.push_str(&format!(
            "Content-Length: {}\r\n\r\n",
            body.map_or(0, |b| b.len())
        ));
        s.write_all(req.as_bytes()).unwrap();
        if let Some(b) = body {
            // The server may answer (413) and close before reading everything.
            let _ = s.write_all(b);
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        parse_response(&buf)
    }

    pub fn req(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.req_as(ADMIN, method, path, body)
    }

    pub fn req_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let b = body.map(|v| serde_json::to_vec(v).unwrap());
        self.raw(
            method,
            path,
            Some(token),
            &[],
            b.as_deref().map(|b| ("application/json", b)),
        )
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req("GET", path, None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.req("POST", path, Some(body))
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.req("PUT", path, Some(body))
    }
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.req("PATCH", path, Some(body))
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.req("DELETE", path, None)
    }

    /// (stored serial, journal length) of a zone.
    pub fn serial_and_journal(&self, zone: &str) -> (u32, usize) {
        let n = Name::from_presentation(zone, None).unwrap();
        let row = self.control.store().zone(&n).unwrap().unwrap();
        (row.serial, self.control.store().journal(&n).unwrap().len())
    }
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header end in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}
