//! Checkpoints in an S3-compatible object store (`--checkpoint-dir s3://bucket/prefix`),
//! with the `s3` feature. Without it, such a URL is refused with what to enable.

use crate::error::{Error, Result};

/// What a URL that is not a local directory must look like.
fn s3_prefix(url: &str) -> Result<&str> {
    url.strip_prefix("s3://").ok_or_else(|| {
        Error::Config(format!(
            "--checkpoint-dir {url}: only local directories and s3:// URLs are supported"
        ))
    })
}

#[cfg(feature = "s3")]
pub(crate) use store::Objects;

#[cfg(feature = "s3")]
mod store {
    use super::s3_prefix;
    use crate::error::{Error, Result};

    /// An object store and the prefix checkpoints live under, with the runtime its calls
    /// block on (checkpoints are written from worker threads, which are not async).
    #[derive(Clone, Debug)]
    pub(crate) struct Objects {
        store: std::sync::Arc<dyn object_store::ObjectStore>,
        root: object_store::path::Path,
        runtime: std::sync::Arc<tokio::runtime::Runtime>,
    }

    impl Objects {
        /// `s3://bucket/prefix`, configured from the environment as the AWS tools are
        /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, and `AWS_ENDPOINT`
        /// with `AWS_ALLOW_HTTP=true` for a local server).
        pub(crate) fn open(url: &str) -> Result<Objects> {
            let config =
                |e: &dyn std::fmt::Display| Error::Config(format!("--checkpoint-dir {url}: {e}"));
            let rest = s3_prefix(url)?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| config(&e))?;
            let prefix = rest
                .split_once('/')
                .map_or("", |(_, p)| p.trim_matches('/'));
            let root = object_store::path::Path::from(prefix);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tidemill:object-store")
                .enable_all()
                .build()
                .map_err(|e| config(&e))?;
            Ok(Objects {
                store: std::sync::Arc::new(store),
                root,
                runtime: std::sync::Arc::new(runtime),
            })
        }

        fn path(&self, rel: &str) -> object_store::path::Path {
            rel.split('/')
                .fold(self.root.clone(), |p, part| p.child(part))
        }

        fn error(&self, context: &str, rel: &str, e: object_store::Error) -> Error {
            Error::Checkpoint(format!("{context} {}: {e}", self.path(rel)))
        }

        /// Writes `rel` by one put: an object appears whole.
        pub(crate) fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
            let payload = object_store::PutPayload::from(bytes);
            self.runtime
                .block_on(self.store.put(&self.path(rel), payload))
                .map(|_| ())
                .map_err(|e| self.error("cannot write", rel, e))
        }

        /// Reads `rel` whole, or its first `len` bytes (a range read).
        pub(crate) fn get(&self, rel: &str, len: Option<usize>) -> Result<Vec<u8>> {
            let path = self.path(rel);
            let got = self.runtime.block_on(async {
                match len {
                    None => self.store.get(&path).await?.bytes().await,
                    Some(len) => self.store.get_range(&path, 0..len as u64).await,
                }
            });
            got.map(|b| b.to_vec())
                .map_err(|e| self.error("cannot read", rel, e))
        }

        /// The names under the prefix (`None`) or under `sub/`, listed by delimiter.
        pub(crate) fn list(&self, sub: Option<&str>) -> Result<Vec<String>> {
            let prefix = match sub {
                Some(s) => self.path(s),
                None => self.root.clone(),
            };
            let listed = self
                .runtime
                .block_on(self.store.list_with_delimiter(Some(&prefix)))
                .map_err(|e| self.error("cannot list", sub.unwrap_or(""), e))?;
            Ok(listed
                .objects
                .into_iter()
                .filter_map(|m| m.location.filename().map(str::to_string))
                .collect())
        }

        /// Removes `rel`, if it is there.
        pub(crate) fn remove(&self, rel: &str) {
            let _ = self.runtime.block_on(self.store.delete(&self.path(rel)));
        }

        /// Whether `rel` is there.
        pub(crate) fn exists(&self, rel: &str) -> Result<bool> {
            match self.runtime.block_on(self.store.head(&self.path(rel))) {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(self.error("cannot look for", rel, e)),
            }
        }
    }
}

/// Without the `s3` feature there is no object store: opening one says what to enable,
/// and no value of this type exists.
#[cfg(not(feature = "s3"))]
#[derive(Clone, Debug)]
pub(crate) enum Objects {}

#[cfg(not(feature = "s3"))]
impl Objects {
    pub(crate) fn open(url: &str) -> Result<Objects> {
        s3_prefix(url)?;
        Err(Error::Config(format!(
            "--checkpoint-dir {url}: checkpoints in S3 need tidemill's `s3` feature (in Cargo.toml: tidemill = {{ ..., features = [\"s3\"] }})"
        )))
    }
    pub(crate) fn put(&self, _: &str, _: Vec<u8>) -> Result<()> {
        match *self {}
    }
    pub(crate) fn get(&self, _: &str, _: Option<usize>) -> Result<Vec<u8>> {
        match *self {}
    }
    pub(crate) fn list(&self, _: Option<&str>) -> Result<Vec<String>> {
        match *self {}
    }
    pub(crate) fn remove(&self, _: &str) {
        match *self {}
    }
    pub(crate) fn exists(&self, _: &str) -> Result<bool> {
        match *self {}
    }
}
