//! A real S3-compatible server for the tests: moto in server mode, which
//! `scripts/s3-server.sh serve 0` installs (once, into `.venv-s3/`) and starts on a free port,
//! one server for the whole test binary. It stops when the test binary exits, however it
//! exits: the script stops when its standard input, a pipe this process holds, closes.
//! `PARLOR_TEST_S3_ENDPOINT=http://HOST:PORT` uses a server that is already running instead
//! (one that, like moto, creates a bucket on an unsigned `PUT /bucket`). If the server cannot
//! be started or does not answer, the tests fail and say so: they never skip.
//!
//! Each test gets a bucket of its own, `parlor-it-<random>`, and the `AWS_*` variables that
//! point `S3Files` at it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use parlor::domain::auth::random_token;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server of this test binary, kept (with its standard input) until the process exits.
static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static CHILD: Mutex<Option<Child>> = Mutex::new(None);

fn start_server() -> Result<String, String> {
    if let Ok(endpoint) = std::env::var("PARLOR_TEST_S3_ENDPOINT") {
        return Ok(endpoint.trim_end_matches('/').to_owned());
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("bash")
        .arg(repo.join("scripts/s3-server.sh"))
        .args(["serve", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run scripts/s3-server.sh: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading scripts/s3-server.sh: {e}"))?;
    *CHILD.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    line.trim()
        .strip_prefix("s3 on ")
        .map(str::to_owned)
        .ok_or_else(|| format!("scripts/s3-server.sh did not start the server (it said {line:?})"))
}

/// The endpoint of the test binary's server, started on first use.
pub fn endpoint() -> String {
    match SERVER.get_or_init(start_server) {
        Ok(endpoint) => endpoint.clone(),
        Err(e) => panic!(
            "no S3-compatible server for the tests: {e}; `bash scripts/s3-server.sh install` \
             installs moto, or set PARLOR_TEST_S3_ENDPOINT"
        ),
    }
}

/// A bucket that exists for one test, on the test binary's server.
pub struct TestBucket {
    pub endpoint: String,
    pub name: String,
}

impl TestBucket {
    pub async fn create() -> TestBucket {
        let endpoint = endpoint();
        let name = format!("parlor-it-{}", random_token(9).to_ascii_lowercase())
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "0");
        let bucket = TestBucket { endpoint, name };
        let created = bucket.request("PUT", "").await;
        assert_eq!(
            created.0, 200,
            "creating bucket {}: {}",
            bucket.name, created.1
        );
        bucket
    }

    /// The `AWS_*` variables that point the S3 client at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "parlor-test"),
            ("AWS_SECRET_ACCESS_KEY", "parlor-test-secret"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// `s3://<bucket>/<prefix>`
    pub fn url(&self, prefix: &str) -> url::Url {
        url::Url::parse(&format!("s3://{}/{prefix}", self.name)).expect("an s3:// URL")
    }

    /// A client of the bucket of its own (object_store, as `S3Files` uses it), to look at
    /// what the bucket holds.
    pub fn store(&self) -> AmazonS3 {
        self.env()
            .into_iter()
            .fold(AmazonS3Builder::new(), |builder, (name, value)| {
                builder.with_config(
                    name.to_ascii_lowercase().parse().expect("an AWS_* key"),
                    value,
                )
            })
            .with_bucket_name(&self.name)
            .build()
            .expect("an S3 client")
    }

    /// Every object key in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listed: Vec<_> = self
            .store()
            .list(None)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("listing {}: {e}", self.name));
        listed
            .into_iter()
            .map(|meta| meta.location.to_string())
            .collect()
    }

    /// The keys of the multipart uploads begun and neither completed nor aborted.
    pub async fn unfinished_uploads(&self) -> Vec<String> {
        let (status, body) = self.request("GET", "?uploads").await;
        assert_eq!(status, 200, "listing uploads of {}: {body}", self.name);
        elements(&body, "Key")
    }

    /// The object's ETag as the server gives it: `<md5>-<parts>` for one stored by a
    /// multipart upload.
    pub async fn etag(&self, key: &str) -> Option<String> {
        match self.store().head(&ObjectPath::from(key)).await {
            Ok(meta) => Some(meta.e_tag.unwrap_or_default().trim_matches('"').to_owned()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("HEAD {key}: {e}"),
        }
    }

    /// One unsigned request under the bucket (moto takes them for the bucket itself, not for
    /// the objects a signed request stored); the status and the body.
    async fn request(&self, method: &str, path: &str) -> (u16, String) {
        let authority = self
            .endpoint
            .strip_prefix("http://")
            .expect("an http:// endpoint")
            .to_owned();
        let target = format!("/{}{path}", self.name);
        let exchange = async {
            let mut tcp = TcpStream::connect(&authority).await.expect("connect to S3");
            let head = format!(
                "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
                 Content-Length: 0\r\n\r\n"
            );
            tcp.write_all(head.as_bytes()).await.expect("send to S3");
            let mut raw = Vec::new();
            tcp.read_to_end(&mut raw).await.expect("read from S3");
            raw
        };
        let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("S3 answered within 10 s");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        (status, body.to_owned())
    }
}

/// The texts of the `<name>` elements of an XML answer.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}
