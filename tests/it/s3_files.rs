//! `S3Files`, the S3-compatible storage of uploads, against a real S3-compatible server
//! (moto, started by `support::s3`): what `FileStorage` promises, as the local directory keeps
//! it, over the network.

use std::io;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::ObjectStore;
use parlor::domain::files::{ByteStream, FileStorage, FilesError};
use parlor::files::s3::S3Files;

use crate::support::s3::TestBucket;

const MIB: usize = 1024 * 1024;

fn open(bucket: &TestBucket, prefix: &str) -> S3Files {
    S3Files::open_with_env(&bucket.url(prefix), bucket.env()).expect("open the S3 storage")
}

/// Bytes that differ from one offset to the next, so that a part stored twice, dropped or out
/// of order shows.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `data` as a body arrives: in chunks of `chunk` bytes.
fn body(data: &[u8], chunk: usize) -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// `data` in chunks, then the error a body gives when its client goes away.
fn failing_body(data: &[u8], chunk: usize) -> ByteStream {
    let failure = futures_util::stream::iter([Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "the client went away",
    ))]);
    Box::pin(body(data, chunk).chain(failure))
}

async fn read(files: &S3Files, key: &str) -> Option<(u64, Vec<u8>)> {
    let (size, mut stream) = files.get(key).await.expect("get")?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.expect("a chunk of the object"));
    }
    Some((size, bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_several_parts_comes_back_byte_for_byte() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    // Not a multiple of the part size: the last part is a short one.
    let data = pattern(12 * MIB + 12_345, 1);

    let size = files
        .put("site1/u_big", body(&data, 64 * 1024))
        .await
        .expect("put");

    assert_eq!(size, data.len() as u64);
    let (got_size, got) = read(&files, "site1/u_big")
        .await
        .expect("the file is there");
    assert_eq!(got_size, data.len() as u64);
    assert!(got == data, "the bytes read back differ from those stored");
    // Stored by a multipart upload of three parts (5 + 5 + 2 MiB).
    let etag = bucket.etag("site1/u_big").await.expect("the object");
    assert!(
        etag.ends_with("-3"),
        "ETag {etag:?} is not of a 3-part upload"
    );
    assert!(bucket.unfinished_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_comes_back_whole_whatever_the_size_of_the_chunks_it_came_in() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    let data = pattern(11 * MIB + 3, 7);

    // One chunk of the whole file; chunks that straddle the parts' boundaries.
    for (key, chunk) in [("site1/u_whole", data.len()), ("site1/u_odd", 1_000_003)] {
        let size = files.put(key, body(&data, chunk)).await.expect("put");

        assert_eq!(size, data.len() as u64, "{key}");
        let (_, got) = read(&files, key).await.expect("the file is there");
        assert!(
            got == data,
            "{key}: the bytes read back differ from those stored"
        );
        let etag = bucket.etag(key).await.expect("the object");
        assert!(
            etag.ends_with("-3"),
            "{key}: ETag {etag:?} is not of a 3-part upload"
        );
    }
}

#[tokio::test]
async fn a_small_file_is_stored_with_one_put() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    let data = pattern(300 * 1024, 2);

    assert_eq!(
        files
            .put("site1/u_small", body(&data, 16 * 1024))
            .await
            .expect("put"),
        data.len() as u64
    );

    assert_eq!(
        read(&files, "site1/u_small").await,
        Some((data.len() as u64, data))
    );
    let etag = bucket.etag("site1/u_small").await.expect("the object");
    assert!(
        !etag.contains('-'),
        "ETag {etag:?} is of a multipart upload"
    );
}

#[tokio::test]
async fn a_file_of_exactly_one_part_comes_back_whole() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    let data = pattern(5 * MIB, 3);

    files
        .put("site1/u_edge", body(&data, 64 * 1024))
        .await
        .expect("put");

    assert_eq!(
        read(&files, "site1/u_edge").await,
        Some((data.len() as u64, data))
    );
    assert!(bucket.unfinished_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_fails_after_several_parts_leaves_nothing() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    let data = pattern(11 * MIB, 4);
    // A multipart upload begun and left, to show that the check below sees one.
    let store = bucket.store();
    let mut stray = store
        .put_multipart(&"stray/u_0".into())
        .await
        .expect("begin an upload");
    stray
        .put_part(pattern(5 * MIB, 9).into())
        .await
        .expect("send a part");
    assert_eq!(bucket.unfinished_uploads().await, ["stray/u_0"]);

    let result = files
        .put("site1/u_cut", failing_body(&data, 64 * 1024))
        .await;

    match result {
        Err(FilesError::Body(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        other => panic!("expected the body's error, got {other:?}"),
    }
    assert!(read(&files, "site1/u_cut").await.is_none());
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    // Aborted: no parts kept by the storage either.
    assert_eq!(bucket.unfinished_uploads().await, ["stray/u_0"]);
    stray.abort().await.expect("abort the stray upload");
}

#[tokio::test]
async fn a_body_that_fails_within_the_first_part_leaves_nothing() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");

    let result = files
        .put("site1/u_cut", failing_body(&pattern(100_000, 5), 8192))
        .await;

    assert!(matches!(result, Err(FilesError::Body(_))), "{result:?}");
    assert!(read(&files, "site1/u_cut").await.is_none());
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    assert_eq!(bucket.unfinished_uploads().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_failing_storage_is_a_storage_error_not_the_bodys() {
    let bucket = TestBucket::create().await;
    // A bucket that does not exist on the server.
    let missing = TestBucket {
        endpoint: bucket.endpoint.clone(),
        name: format!("{}-missing", bucket.name),
    };
    let files = open(&missing, "");

    let small = files.put("site1/u_1", body(b"hello", 5)).await;
    let large = files
        .put("site1/u_2", body(&pattern(6 * MIB, 6), 64 * 1024))
        .await;

    assert!(matches!(small, Err(FilesError::Storage(_))), "{small:?}");
    assert!(matches!(large, Err(FilesError::Storage(_))), "{large:?}");
}

#[tokio::test]
async fn a_missing_file_is_none() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");

    assert!(files.get("site1/u_nothing").await.expect("get").is_none());
    assert!(files
        .get("site1/u_nothing.thumb")
        .await
        .expect("get")
        .is_none());
}

#[tokio::test]
async fn deleting_a_file_twice_is_not_an_error() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    files
        .put("site1/u_1", body(b"bytes", 5))
        .await
        .expect("put");
    files
        .put("site1/u_2", body(b"other", 5))
        .await
        .expect("put");

    files.delete("site1/u_1").await.expect("delete");
    files.delete("site1/u_1").await.expect("delete again");

    assert!(read(&files, "site1/u_1").await.is_none());
    assert_eq!(
        read(&files, "site1/u_2").await,
        Some((5, b"other".to_vec()))
    );
}

#[tokio::test]
async fn deleting_a_site_removes_its_files_and_no_others() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "");
    for key in [
        "site1/u_1",
        "site1/u_1.thumb",
        "site1/u_2",
        // A site whose id begins with the other's.
        "site10/u_3",
        "site2/u_4",
    ] {
        files.put(key, body(key.as_bytes(), 4)).await.expect("put");
    }

    files.delete_site("site1").await.expect("delete the site");
    files.delete_site("site1").await.expect("delete it again");
    files
        .delete_site("site3")
        .await
        .expect("delete a site with no files");

    let mut keys = bucket.keys().await;
    keys.sort();
    assert_eq!(keys, ["site10/u_3", "site2/u_4"]);
    assert!(read(&files, "site1/u_1").await.is_none());
}

#[tokio::test]
async fn deleting_a_site_of_many_files_removes_them_all() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "p");
    // More than one page of a listing or of a batch delete, on servers that page by 1000.
    let keys: Vec<String> = (0..1100).map(|i| format!("site1/u_{i}")).collect();
    futures_util::stream::iter(&keys)
        .for_each_concurrent(16, |key| {
            let files = &files;
            async move {
                files.put(key, body(b"x", 1)).await.expect("put");
            }
        })
        .await;
    files.put("site2/u_kept", body(b"y", 1)).await.expect("put");

    files.delete_site("site1").await.expect("delete the site");

    assert_eq!(bucket.keys().await, ["p/site2/u_kept"]);
}

#[tokio::test]
async fn files_are_kept_under_the_urls_prefix() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "parlor/files");
    let neighbour = open(&bucket, "other");
    files.put("site1/u_1", body(b"mine", 4)).await.expect("put");
    neighbour
        .put("site1/u_1", body(b"theirs", 6))
        .await
        .expect("put");

    let mut keys = bucket.keys().await;
    keys.sort();
    assert_eq!(keys, ["other/site1/u_1", "parlor/files/site1/u_1"]);
    assert_eq!(read(&files, "site1/u_1").await, Some((4, b"mine".to_vec())));

    files.delete_site("site1").await.expect("delete the site");

    assert_eq!(bucket.keys().await, ["other/site1/u_1"]);
    assert_eq!(
        read(&neighbour, "site1/u_1").await,
        Some((6, b"theirs".to_vec()))
    );
}

#[tokio::test]
async fn a_key_that_is_not_made_of_ids_is_refused() {
    let bucket = TestBucket::create().await;
    let files = open(&bucket, "prefix");

    for key in [
        "../escape",
        "site1/../../x",
        "/abs",
        "site1//u",
        "",
        "site1/.hidden",
    ] {
        let put = files.put(key, body(b"x", 1)).await;
        assert!(
            matches!(put, Err(FilesError::Storage(_))),
            "{key:?}: {put:?}"
        );
        assert!(files.get(key).await.is_err(), "{key:?}");
    }
    assert_eq!(bucket.keys().await, Vec::<String>::new());
}

#[test]
fn only_an_s3_url_with_a_bucket_opens() {
    let env = Vec::<(String, String)>::new;
    for url in ["file:///tmp/files", "s3:///prefix", "s3://bucket/a?x=1"] {
        let url = url::Url::parse(url).expect("a URL");
        assert!(S3Files::open_with_env(&url, env()).is_err(), "{url} opened");
    }
    let url = url::Url::parse("s3://bucket/some/prefix").expect("a URL");
    assert!(S3Files::open_with_env(&url, env()).is_ok());
}
