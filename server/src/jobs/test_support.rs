//! What the jobs' tests share: a server process's state over a database, without HTTP.

use crate::api::AppState;

/// The state one server process would hold over the database at `url`, its key file in
/// `dir`.
pub(crate) async fn process(url: &str, dir: &std::path::Path) -> AppState {
    let store = crate::stored::open_migrated(url).await.unwrap();
    let keys = crate::api::secrets::Keys::load_or_create(&dir.join("stackbill.key")).unwrap();
    AppState::new(store, keys, crate::api::Config::default())
        .await
        .unwrap()
}

/// [`process`] over a new SQLite database in `dir` holding the demo dataset.
pub(crate) async fn demo(dir: &std::path::Path) -> AppState {
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("sqlite://{}/db.sqlite", dir.display());
    let state = process(&url, dir).await;
    crate::api::demo::load(&state).await.unwrap();
    state
}

/// A new folder under the system's temporary directory for one test.
pub(crate) fn temp_dir(prefix: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ))
}
