//! `--shard K/N`: a deterministic share of a manifest's rows, the same on every machine.

use sha2::{Digest, Sha256};

/// A deterministic share of rows: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `K/N` with 1 <= K <= N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not K/N"))?;
        let (k, n): (u64, u64) = (
            k.trim()
                .parse()
                .map_err(|_| format!("{text:?} is not K/N"))?,
            n.trim()
                .parse()
                .map_err(|_| format!("{text:?} is not K/N"))?,
        );
        if n == 0 || k == 0 || k > n {
            return Err(format!("{text:?}: need 1 <= K <= N"));
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }
}

impl Shard {
    /// Whether a row belongs to this shard: by a stable hash (SHA-256) of its case id when it has
    /// one, else of its row number, so every machine splits a manifest the same way.
    pub fn takes(&self, row: u64, case_id: Option<&str>) -> bool {
        let digest = match case_id.filter(|c| !c.is_empty()) {
            Some(id) => Sha256::digest(format!("case:{id}")),
            None => Sha256::digest(format!("row:{row}")),
        };
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_rows_without_loss_or_overlap() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x", "1/x", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3)
            .map(|k| format!("{k}/3").parse().expect("shard"))
            .collect();
        let mut sizes = [0; 3];
        for row in 0..3000u64 {
            let case = (row % 2 == 0).then(|| format!("case-{row}"));
            let owners: Vec<usize> = (0..3)
                .filter(|&i| shards[i].takes(row, case.as_deref()))
                .collect();
            assert_eq!(owners.len(), 1, "row {row} must have exactly one shard");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 900), "{sizes:?}");
    }
}
