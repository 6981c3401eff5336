//! Where checkpoints live: part files written by the operators of every worker, and one
//! manifest per complete checkpoint, written last by an atomic rename.
//!
//! ```text
//! DIR/parts/{operator}.w{worker}.{first}-{last}   one operator's state on one worker,
//!                                                 the same for epochs first..=last
//! DIR/chk-{id:020}.json                           checkpoint `id`: the parts it is made of
//! ```
//!
//! A part starts with a header (magic, length, checksum of the payload), so a truncated
//! or corrupt part is found when a checkpoint is restored; the manifest lists each part
//! with its length and checksum. Every write goes to a temporary file that is synced and
//! renamed into place, so a reader never sees half a file under its final name.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"TMPART02";
const HEADER: usize = 8 + 8 + 8;

/// The epoch an operator's last part covers once its input has ended: every later one.
pub const OPEN_END: u64 = u64::MAX;

/// A checksum of `bytes` against truncation and corruption, not an adversary: FNV-1a's
/// step over 8-byte words (with a rotation, so that every bit of a word reaches the
/// high bits), then the remaining bytes, then the length. Eight times fewer multiplies
/// than FNV-1a over bytes: checkpoint parts of tens of MB are summed as they are written
/// and again as they are restored.
pub fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(PRIME).rotate_left(23);
    }
    for b in words.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
    }
    (h ^ bytes.len() as u64).wrapping_mul(PRIME)
}

/// A part file's name, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartName {
    /// The operator it belongs to.
    pub operator: String,
    /// The worker (of all processes) that wrote it.
    pub worker: usize,
    /// The first epoch whose state it holds.
    pub first: u64,
    /// The last epoch whose state it holds ([`OPEN_END`]: all later epochs).
    pub last: u64,
}

impl PartName {
    fn file(&self) -> String {
        format!(
            "{}.w{}.{}-{}",
            self.operator, self.worker, self.first, self.last
        )
    }

    fn parse(file: &str) -> Option<PartName> {
        let (rest, range) = file.rsplit_once('.')?;
        let (operator, worker) = rest.rsplit_once('.')?;
        let worker = worker.strip_prefix('w')?.parse().ok()?;
        let (first, last) = range.split_once('-')?;
        Some(PartName {
            operator: operator.to_string(),
            worker,
            first: first.parse().ok()?,
            last: last.parse().ok()?,
        })
    }

    fn covers(&self, epoch: u64) -> bool {
        self.first <= epoch && epoch <= self.last
    }
}

/// One part as a manifest lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartEntry {
    /// The part's file name under `parts/`.
    pub file: String,
    /// Its payload's length in bytes.
    pub len: u64,
    /// Its payload's [`checksum`].
    pub checksum: u64,
}

/// A complete checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The checkpoint's id: the epoch it closes.
    pub id: u64,
    /// The pipeline it belongs to ([`crate::job::fingerprint`]).
    pub fingerprint: u64,
    /// How many workers, over all processes, wrote it.
    pub peers: usize,
    /// The number of key groups its keyed state is split into (`--max-parallelism`);
    /// absent in checkpoints of versions that routed keys by hash alone.
    #[serde(default)]
    pub max_parallelism: Option<usize>,
    /// The operators with state, by name.
    pub operators: Vec<String>,
    /// Every part: one per operator and worker.
    pub parts: Vec<PartEntry>,
}

/// A checkpoint directory: a local one, or a prefix in an S3-compatible object store
/// (`s3://bucket/prefix`), which processes on different machines can share.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    objects: Option<super::objects::Objects>,
}

/// Whether `dir` names an object store rather than a local directory.
fn is_url(dir: &Path) -> bool {
    dir.to_str().is_some_and(|d| d.contains("://"))
}

fn io(context: &str, path: &Path, e: std::io::Error) -> Error {
    Error::io(format!("checkpoint: {context}"), path, e)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn write_atomic(path: &Path, pieces: &[&[u8]]) -> Result<()> {
    // Unique per process and call: workers of a process may write the same file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(|e| io("cannot create", &tmp, e))?;
    pieces
        .iter()
        .try_for_each(|piece| file.write_all(piece))
        .and_then(|()| file.sync_all())
        .map_err(|e| io("cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io("cannot rename into place", path, e))
}

impl Store {
    /// The checkpoints under `dir` (created if it does not exist), or under an object
    /// store's prefix when `dir` is a URL (`s3://bucket/prefix`).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store> {
        let dir = dir.into();
        if is_url(&dir) {
            let objects = super::objects::Objects::open(&dir.to_string_lossy())?;
            return Ok(Store {
                dir,
                objects: Some(objects),
            });
        }
        let parts = dir.join("parts");
        fs::create_dir_all(&parts).map_err(|e| io("cannot create directory", &parts, e))?;
        Ok(Store { dir, objects: None })
    }

    /// Writes `rel` (`chk-N.json`, `parts/...`) whole: by a synced temporary file and a
    /// rename, or by one put (an object appears whole).
    fn put(&self, rel: &str, pieces: &[&[u8]]) -> Result<()> {
        let Some(o) = &self.objects else {
            return write_atomic(&self.dir.join(rel), pieces);
        };
        o.put(rel, pieces.concat())
    }

    /// Reads `rel` whole, or its first `len` bytes.
    fn get(&self, rel: &str, len: Option<usize>) -> Result<Vec<u8>> {
        let Some(o) = &self.objects else {
            let path = self.dir.join(rel);
            let read = match len {
                None => fs::read(&path),
                Some(len) => {
                    use std::io::Read;
                    let mut bytes = vec![0; len];
                    fs::File::open(&path)
                        .and_then(|mut f| f.read_exact(&mut bytes))
                        .map(|()| bytes)
                }
            };
            return read.map_err(|e| io("cannot read", &path, e));
        };
        o.get(rel, len)
    }

    /// The names in the directory (`None`) or in `parts/`.
    fn list(&self, sub: Option<&str>) -> Result<Vec<String>> {
        let Some(o) = &self.objects else {
            let dir = sub.map_or_else(|| self.dir.clone(), |s| self.dir.join(s));
            let entries = fs::read_dir(&dir).map_err(|e| io("cannot list", &dir, e))?;
            return Ok(entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect());
        };
        o.list(sub)
    }

    /// Removes `rel`, if it is there.
    fn remove(&self, rel: &str) {
        match &self.objects {
            None => {
                let _ = fs::remove_file(self.dir.join(rel));
            }
            Some(o) => o.remove(rel),
        }
    }

    /// Whether `rel` is there.
    fn exists(&self, rel: &str) -> Result<bool> {
        let Some(o) = &self.objects else {
            return Ok(self.dir.join(rel).exists());
        };
        o.exists(rel)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn manifest_path(&self, id: u64) -> PathBuf {
        self.dir.join(manifest_name(id))
    }

    /// Writes one operator's state on one worker for epochs `first..=last`.
    pub fn write_part(&self, name: &PartName, payload: &[u8]) -> Result<()> {
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&checksum(payload).to_le_bytes());
        self.put(&format!("parts/{}", name.file()), &[&header, payload])
    }

    /// The parts in the directory.
    fn parts(&self) -> Result<Vec<PartName>> {
        Ok(self
            .list(Some("parts"))?
            .iter()
            .filter_map(|f| PartName::parse(f))
            .collect())
    }

    /// Reads a part's header: its payload's length and checksum.
    fn header(&self, file: &str) -> Result<(u64, u64)> {
        let path = self.dir.join("parts").join(file);
        // The header only: parts are tens of MB.
        let bytes = self.get(&format!("parts/{file}"), Some(HEADER))?;
        if &bytes[..8] != MAGIC {
            return Err(Error::Config(format!(
                "checkpoint part {} is not a part file",
                path.display()
            )));
        }
        let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let sum = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        Ok((len, sum))
    }

    /// Writes the manifest of checkpoint `id` unless it exists: the parts covering `id`
    /// of each of `operators` on each of `peers` workers, which must all be there (every
    /// worker's operators wrote them before letting the epoch pass). Every worker may
    /// call this; they write the same content.
    ///
    /// Where two parts cover `id` (an earlier run at more workers left a last part, one
    /// covering every later epoch, of a worker this run has again), the one written by
    /// this run is taken: it begins later, since a restored run writes from the epoch
    /// after its checkpoint and what began after that was removed.
    pub fn complete(
        &self,
        id: u64,
        fingerprint: u64,
        (peers, max_parallelism): (usize, usize),
        operators: &[String],
    ) -> Result<bool> {
        // Written by another worker already, or a later checkpoint is (retention may
        // have removed this one's parts).
        if self.exists(&manifest_name(id))?
            || self.checkpoints()?.last().is_some_and(|&last| last > id)
        {
            return Ok(false);
        }
        let all = self.parts()?;
        let mut parts = Vec::new();
        for operator in operators {
            for worker in 0..peers {
                let part = all
                    .iter()
                    .filter(|p| &p.operator == operator && p.worker == worker && p.covers(id))
                    .max_by_key(|p| p.first)
                    .ok_or_else(|| {
                        Error::Checkpoint(format!(
                            "checkpoint {id}: no part of operator {operator} on worker {worker}"
                        ))
                    })?;
                let file = part.file();
                let (len, checksum) = self.header(&file)?;
                parts.push(PartEntry {
                    file,
                    len,
                    checksum,
                });
            }
        }
        let manifest = Manifest {
            id,
            fingerprint,
            peers,
            max_parallelism: Some(max_parallelism),
            operators: operators.to_vec(),
            parts,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        self.put(&manifest_name(id), &[&json])?;
        Ok(true)
    }

    /// The ids of the complete checkpoints, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<u64>> {
        let mut ids: Vec<u64> = self
            .list(None)?
            .iter()
            .filter_map(|f| manifest_id(f))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Keeps the newest `retained` checkpoints and the parts they use; removes the rest.
    pub fn retain(&self, retained: usize) -> Result<()> {
        let ids = self.checkpoints()?;
        let drop = ids.len().saturating_sub(retained.max(1));
        for &id in &ids[..drop] {
            self.remove(&manifest_name(id));
        }
        let Some(&oldest) = ids.get(drop) else {
            return Ok(());
        };
        for part in self.parts()? {
            if part.last < oldest {
                self.remove(&format!("parts/{}", part.file()));
            }
        }
        Ok(())
    }

    /// Reads and checks checkpoint `id`: its manifest, and every part's length and
    /// checksum. Returns the manifest and the payloads by operator, each with its worker.
    pub fn load(&self, id: u64) -> Result<(Manifest, Parts)> {
        let path = self.manifest_path(id);
        let text = self.get(&manifest_name(id), None)?;
        let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
            Error::Config(format!(
                "checkpoint manifest {} is damaged: {e}",
                path.display()
            ))
        })?;
        let mut parts: Parts = BTreeMap::new();
        for entry in &manifest.parts {
            let name = PartName::parse(&entry.file).ok_or_else(|| {
                Error::Config(format!("checkpoint {id}: bad part name {}", entry.file))
            })?;
            let part = self.dir.join("parts").join(&entry.file);
            let mut bytes = self.get(&format!("parts/{}", entry.file), None)?;
            let payload = bytes.get(HEADER..).unwrap_or_default();
            let intact = bytes.len() >= HEADER
                && &bytes[..8] == MAGIC
                && payload.len() as u64 == entry.len
                && checksum(payload) == entry.checksum;
            if !intact {
                return Err(Error::Config(format!(
                    "checkpoint {id}: part {} is truncated or corrupt (checksum mismatch)",
                    part.display()
                )));
            }
            bytes.drain(..HEADER);
            parts
                .entry(name.operator)
                .or_default()
                .push((name.worker, bytes));
        }
        Ok((manifest, parts))
    }

    /// Removes every part and manifest: a fresh start.
    pub fn clear(&self) -> Result<()> {
        for id in self.checkpoints()? {
            self.remove(&manifest_name(id));
        }
        for part in self.parts()? {
            self.remove(&format!("parts/{}", part.file()));
        }
        Ok(())
    }

    /// After restoring checkpoint `id`: removes what later epochs left (parts that begin
    /// after it, manifests of later checkpoints), which the restored job writes anew.
    pub fn forget_after(&self, id: u64) -> Result<()> {
        for later in self.checkpoints()?.into_iter().filter(|&c| c > id) {
            self.remove(&manifest_name(later));
        }
        for part in self.parts()? {
            if part.first > id {
                self.remove(&format!("parts/{}", part.file()));
            }
        }
        Ok(())
    }
}

/// The name of checkpoint `id`'s manifest.
fn manifest_name(id: u64) -> String {
    format!("chk-{id:020}.json")
}

/// The id of the checkpoint whose manifest is named `file` (`chk-N.json`).
pub fn manifest_id(file: &str) -> Option<u64> {
    file.strip_prefix("chk-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// A checkpoint's payloads by operator: `(worker, bytes)` for each worker that wrote one.
pub type Parts = BTreeMap<String, Vec<(usize, Vec<u8>)>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tidemill-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn part(operator: &str, worker: usize, first: u64, last: u64) -> PartName {
        PartName {
            operator: operator.into(),
            worker,
            first,
            last,
        }
    }

    #[test]
    fn object_store_urls_other_than_s3_are_refused() {
        let e = Store::open("gs://bucket/prefix").unwrap_err().to_string();
        assert!(e.contains("only local directories and s3:// URLs"), "{e}");
    }

    #[test]
    fn part_names_round_trip() {
        let p = part("window-0.4", 3, 7, OPEN_END);
        assert_eq!(PartName::parse(&p.file()), Some(p));
    }

    #[test]
    fn a_checkpoint_uses_the_part_covering_it_and_detects_damage() {
        let dir = temp("cover");
        let store = Store::open(&dir).unwrap();
        let ops = vec!["a".to_string()];
        store.write_part(&part("a", 0, 0, 0), b"zero").unwrap();
        store
            .write_part(&part("a", 0, 1, 3), b"one-to-three")
            .unwrap();
        // Worker 1's part for epoch 2 is missing: the checkpoint cannot complete.
        assert!(store.complete(2, 9, (2, 128), &ops).is_err());
        store.write_part(&part("a", 1, 2, OPEN_END), b"w1").unwrap();
        assert!(store.complete(2, 9, (2, 128), &ops).unwrap());
        assert!(
            !store.complete(2, 9, (2, 128), &ops).unwrap(),
            "written once"
        );
        let (manifest, parts) = store.load(2).unwrap();
        assert_eq!(manifest.fingerprint, 9);
        assert_eq!(
            parts["a"],
            vec![(0, b"one-to-three".to_vec()), (1, b"w1".to_vec())]
        );
        // Truncate worker 0's part: loading names it.
        let file = dir.join("parts").join(part("a", 0, 1, 3).file());
        let bytes = fs::read(&file).unwrap();
        fs::write(&file, &bytes[..bytes.len() - 2]).unwrap();
        let err = store.load(2).unwrap_err().to_string();
        assert!(err.contains("a.w0.1-3") && err.contains("corrupt"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn retention_keeps_the_newest_and_the_parts_they_use() {
        let dir = temp("retain");
        let store = Store::open(&dir).unwrap();
        let ops = vec!["a".to_string()];
        for e in 0..5 {
            store.write_part(&part("a", 0, e, e), b"x").unwrap();
            store.complete(e, 1, (1, 128), &ops).unwrap();
        }
        store.retain(3).unwrap();
        assert_eq!(store.checkpoints().unwrap(), [2, 3, 4]);
        assert!(store.load(2).is_ok());
        assert!(!dir.join("parts").join(part("a", 0, 1, 1).file()).exists());
        store.forget_after(3).unwrap();
        assert_eq!(store.checkpoints().unwrap(), [2, 3]);
        assert!(!dir.join("parts").join(part("a", 0, 4, 4).file()).exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
