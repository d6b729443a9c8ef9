//! One HTTP/1.1 request per connection (`Connection: close`), read to the end: all the tests
//! need for `/healthz` and `POST /api/login`, without an HTTP client crate in the build.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::sio::TIMEOUT;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, None).await
}

pub async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> Response {
    request(addr, "POST", path, Some(body)).await
}

async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Response {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.expect("send the head");
        tcp.write_all(body.as_bytes()).await.expect("send the body");
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.expect("read the answer");
        raw
    };
    let raw = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer to {method} {path} within {TIMEOUT:?}"));
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(raw).expect("an HTTP response")
    else {
        panic!("the connection closed inside the response head");
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let mut answer = Response {
        status: response.code.expect("a status code"),
        headers,
        body: Vec::new(),
    };
    let rest = &raw[head_len..];
    answer.body = if answer
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)
    } else {
        match answer.header("content-length") {
            Some(n) => rest[..n.parse::<usize>().expect("a Content-Length")].to_vec(),
            None => rest.to_vec(),
        }
    };
    answer
}

/// The body of a `Transfer-Encoding: chunked` message.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let httparse::Status::Complete((start, size)) =
            httparse::parse_chunk_size(rest).expect("a chunk size")
        else {
            panic!("the body ends inside a chunk size");
        };
        if size == 0 {
            return body;
        }
        let end = start + size as usize;
        body.extend_from_slice(&rest[start..end]);
        rest = &rest[end + 2..];
    }
}
