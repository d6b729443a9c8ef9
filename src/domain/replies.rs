//! What one reply may cost: bytes on the wire (a page stops short of the reply cap and says
//! `hasMore`) and bytes read from the store at once (a server-wide budget that every page
//! reserves its worst case from before it reads). Together they keep a client that floods
//! `sync` or `history` from making the server hold gigabytes of replies.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{DomainError, DomainResult};
use super::limits::count_refusal;

/// The worst case of one stored message as read: 4000 scalar values of 4 UTF-8 bytes each, and
/// its other fields.
pub const MESSAGE_READ_BYTES: usize = 4000 * 4 + 512;
/// The worst case of one conversation summary as read: its last message, visitor and page.
pub const SUMMARY_READ_BYTES: usize = MESSAGE_READ_BYTES + 3 * 1024;
/// The smallest reply cap accepted: one message of 4000 escaped control characters fits.
pub const MIN_REPLY_BYTES: usize = 32 * 1024;
/// How long a page waits for room in the budget before it is refused as `rate_limited`.
const BUDGET_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ReplyLimits {
    /// The largest reply, in bytes of JSON.
    pub max_bytes: usize,
    /// Bytes of pages being read and built at once, server-wide.
    pub budget_bytes: usize,
}

pub struct ReplyBudget {
    /// One permit per KiB.
    kib: Arc<Semaphore>,
    total_kib: u32,
    pub max_bytes: usize,
}

impl ReplyBudget {
    pub fn new(limits: ReplyLimits) -> Self {
        let total_kib = u32::try_from(limits.budget_bytes / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        ReplyBudget {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
            max_bytes: limits.max_bytes.max(MIN_REPLY_BYTES),
        }
    }

    /// Reserves the worst case of reading `rows` rows of `row_bytes` each; held until the page
    /// is built and handed to the transport.
    pub async fn reserve(&self, rows: i64, row_bytes: usize) -> DomainResult<OwnedSemaphorePermit> {
        let bytes = usize::try_from(rows).unwrap_or(0).saturating_mul(row_bytes);
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib);
        match tokio::time::timeout(BUDGET_WAIT, self.kib.clone().acquire_many_owned(kib)).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                metrics::counter!("parlor_reply_budget_refusals_total").increment(1);
                count_refusal("reply_budget");
                Err(DomainError::RateLimited)
            }
        }
    }

    /// Keeps the first items that fit under the reply cap (at least one); true when some were
    /// cut.
    pub fn keep_first<T: Serialize>(&self, items: &mut Vec<T>) -> bool {
        let n = fitting(items.iter(), self.max_bytes);
        let cut = n < items.len();
        items.truncate(n);
        cut
    }

    /// Keeps the last items that fit under the reply cap (at least one); true when some were
    /// cut.
    pub fn keep_last<T: Serialize>(&self, items: &mut Vec<T>) -> bool {
        let n = fitting(items.iter().rev(), self.max_bytes);
        let cut = items.len() - n;
        items.drain(..cut);
        cut > 0
    }
}

/// How many of `items`, in order, fit in `max_bytes` of JSON (always at least one, so a page
/// makes progress).
fn fitting<'a, T: Serialize + 'a>(items: impl Iterator<Item = &'a T>, max_bytes: usize) -> usize {
    let mut total = 0usize;
    let mut n = 0;
    for item in items {
        total = total.saturating_add(json_len(item) + 1);
        if n > 0 && total > max_bytes {
            break;
        }
        n += 1;
    }
    n
}

/// The length of `value` as JSON, without building it.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        // Our own types always serialize; count a failure as too big to send.
        Err(_) => usize::MAX / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_bytes: usize) -> ReplyBudget {
        ReplyBudget::new(ReplyLimits {
            max_bytes,
            budget_bytes: 1024 * 1024,
        })
    }

    #[test]
    fn json_len_counts_escapes() {
        assert_eq!(json_len("a"), 3);
        assert_eq!(json_len("\u{1}"), 8);
    }

    #[test]
    fn a_page_stops_short_of_the_reply_cap() {
        let b = budget(MIN_REPLY_BYTES);
        let big = "\u{1}".repeat(4000); // 24,002 bytes of JSON
        let mut first = vec![big.clone(), big.clone(), "x".into()];
        assert!(b.keep_first(&mut first));
        assert_eq!(first.len(), 1);
        let mut last = vec!["x".to_owned(), big.clone(), big];
        assert!(b.keep_last(&mut last));
        assert_eq!(last.len(), 1);
        let mut small = vec!["a".to_owned(), "b".into()];
        assert!(!b.keep_first(&mut small));
        assert_eq!(small.len(), 2);
    }

    #[tokio::test]
    async fn the_read_budget_is_shared_and_given_back() {
        let b = budget(MIN_REPLY_BYTES);
        let whole = b.reserve(1024, 1024).await.unwrap();
        let waiting = tokio::spawn({
            let kib = b.kib.clone();
            async move { kib.acquire_many_owned(1).await.is_ok() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(whole);
        assert!(waiting.await.unwrap());
    }
}
