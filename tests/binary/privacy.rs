//! Card UIDs kept where they are needed: a whole demo class leaves no card
//! UID and no student's name in the logs, and `[privacy] uids = "hash"`
//! gives a card one value in every export, the start of what the push sends.

use crate::common::Sandbox;
use crate::common::sync_server::{SyncServer, TEST_TOKEN};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use taproll::events::Event;

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Everything taproll wrote in the sandbox's state folder (its logs).
pub(crate) fn logs(sandbox: &Sandbox) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(sandbox.path("state").join("taproll")).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    all
}

/// The demo's files: every card UID (roster and scenario) and every name.
fn demo_cards_and_names() -> (Vec<String>, Vec<String>) {
    let read = |name: &str| -> toml::Table {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/demo")
            .join(name);
        toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (roster, scenario) = (read("roster.toml"), read("scenario.toml"));
    let mut cards = Vec::new();
    let mut names = Vec::new();
    for student in roster["student"].as_array().unwrap() {
        names.push(student["name"].as_str().unwrap().to_string());
        if let Some(card) = student.get("card") {
            cards.push(card.as_str().unwrap().to_string());
        }
    }
    for tap in scenario["tap"].as_array().unwrap() {
        cards.push(tap["uid"].as_str().unwrap().to_string());
    }
    let cards = cards
        .iter()
        .map(|card| {
            taproll::domain::CardUid::parse(card)
                .unwrap()
                .as_hex()
                .to_string()
        })
        .collect();
    (cards, names)
}

/// `04A1B2C3` as people and programs write it: with and without `:`, `-`
/// or spaces between bytes, upper and lower case.
pub(crate) fn spellings(hex: &str) -> Vec<String> {
    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    let mut all = Vec::new();
    for separator in ["", ":", "-", " "] {
        let joined = pairs.join(separator);
        all.push(joined.to_ascii_lowercase());
        all.push(joined);
    }
    all
}

#[test]
fn a_whole_demo_class_leaves_no_card_uid_and_no_name_in_the_logs() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .taproll()
        .args(["demo", "--headless", "--db"])
        .arg(sandbox.path("demo.db"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines = json_lines(&output.stdout);
    let taps: Vec<&Value> = lines.iter().filter(|l| l["event"] == "tap").collect();
    // The whole scenario was played, known students among it.
    assert!(taps.len() >= 25, "{lines:?}");
    assert!(taps.iter().any(|t| t["name"].is_string()), "{lines:?}");
    let logs = logs(&sandbox);
    assert!(
        logs.contains("tap recorded") && logs.contains("uid=04:"),
        "the taps are logged, their cards masked:\n{logs}"
    );
    let (cards, names) = demo_cards_and_names();
    assert!(cards.len() > 30 && names.len() == 30);
    for card in &cards {
        for spelling in spellings(card) {
            assert!(
                !logs.contains(&spelling),
                "card {spelling} is in the log:\n{logs}"
            );
        }
    }
    for name in &names {
        for spelling in [name.clone(), name.to_uppercase()] {
            assert!(
                !logs.contains(&spelling),
                "the name {spelling} is in the log:\n{logs}"
            );
        }
    }
}

#[test]
fn with_hashed_uids_a_card_gives_one_value_in_every_export_and_on_the_push() {
    const CARD: &str = "04A1B2C3D4E5F6";
    let sandbox = Sandbox::new();
    let server = SyncServer::start();
    let config = sandbox.write(
        "config.toml",
        &format!(
            "[sync]\nserver = \"{}\"\nretry_max_seconds = 1\ncard_uids = \"keyed\"\n\n\
             [privacy]\nuids = \"hash\"\n",
            server.url()
        ),
    );
    let scenario = sandbox.write(
        "scenario.toml",
        &format!("[[tap]]\nat_ms = 0\nuid = \"{CARD}\"\nhold_ms = 0\n"),
    );
    let db = sandbox.path("taproll.db");
    let run = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks 101", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .arg("--config")
        .arg(&config)
        .env("TAPROLL_SYNC_TOKEN", TEST_TOKEN)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    // Export 1: the headless line.
    let lines = json_lines(&run.stdout);
    let tap = lines.iter().find(|l| l["event"] == "tap").unwrap();
    let hash = tap["uid"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16, "{tap}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    // Exports 2 and 3: the report as JSON and as a table. (The CSV lists
    // students only, no unknown cards.)
    let report = |format: &str| {
        let output = sandbox
            .taproll()
            .args(["report", "--last", "--format", format, "--db"])
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let json: Value = serde_json::from_str(&report("json")).unwrap();
    assert_eq!(json["session"]["unknown_taps"][0]["uid"], hash.as_str());
    let table = report("table");
    assert!(table.contains(&hash), "{table}");
    for export in [&json.to_string(), &table] {
        assert!(
            !export.contains(CARD) && !export.contains("04:A1:B2"),
            "{export}"
        );
    }
    // The push sends the whole keyed UID: the exports' hash is its start.
    let queued: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    server.wait_for_events(queued as usize, Duration::from_secs(60));
    let pushed: Vec<String> = server
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Tap { uid, .. } => Some(uid),
            _ => None,
        })
        .collect();
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0].len(), 64);
    assert!(pushed[0].starts_with(&hash), "{hash} {}", pushed[0]);
    // One key for both, made on first use, only the user's.
    use std::os::unix::fs::MetadataExt;
    let key = std::fs::metadata(sandbox.path("data/taproll/card-key")).unwrap();
    assert_eq!(key.mode() & 0o777, 0o600);
}

#[test]
fn roster_list_shows_cards_as_the_exports_do() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let roster = sandbox.write(
        "roster.csv",
        "student_id,name,card\ns1,Ada Lovelace,04A1B2C3D4E5F6\n",
    );
    let import = sandbox
        .taproll()
        .args(["roster", "import"])
        .arg(&roster)
        .args(["--course", "Networks 101", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", text(&import.stderr));
    let list = |config: Option<&Path>| {
        let mut command = sandbox.taproll();
        command.args(["roster", "list", "--db"]).arg(&db);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let masked = list(None);
    assert!(
        masked.contains("04:A1:…:F6") && !masked.contains("04:A1:B2"),
        "{masked}"
    );
    let full = sandbox.write("full.toml", "[privacy]\nuids = \"full\"\n");
    assert!(list(Some(&full)).contains("04:A1:B2:C3:D4:E5:F6"));
}
