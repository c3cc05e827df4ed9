//! The store keeps what it is given, on both backends: round trips, upserts by id, all-or-nothing.

use ecomap::domain::{Merchant, PipelineStatus};
use ecomap::gen::{generate, GenConfig};

use crate::both_backends;
use crate::support::TestDb;

fn small_city() -> ecomap::domain::Dataset {
    generate(&GenConfig::default())
}

async fn dataset_round_trips_through_the_store(db: &TestDb) {
    let db_url = db.url.clone();
    {
        let store = ecomap::storage::Store::connect(&db_url).await.unwrap();
        let ds = small_city();
        let counts = store.write_dataset(&ds).await.unwrap();
        let total = ds.org_units.len()
            + ds.outlets.len()
            + ds.merchants.len()
            + ds.communities.len()
            + ds.areas.len();
        assert_eq!(counts.inserted, total);
        let back = store.load().await.unwrap();
        assert_eq!(back.merchants.len(), ds.merchants.len());
        let mut want = ds.merchants.clone();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back.merchants, want);
        let mut outlets = ds.outlets.clone();
        outlets.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back.outlets, outlets);
        let mut comms = ds.communities.clone();
        comms.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back.communities, comms);
        assert_eq!(back.areas.len(), ds.areas.len());
        store.close().await;
    }
}
both_backends!(dataset_round_trips_through_the_store);

/// Start-up reads merchants another way (PostgreSQL: a binary COPY stream parsed by ecomap);
/// what it reads is exactly what the ordinary load reads, every field, NULLs and Chinese text
/// included, and the index's columns give the same merchants back.
async fn start_up_streams_the_same_merchants_as_the_load(db: &TestDb) {
    use ecomap::domain::MerchantDraft;
    let store = ecomap::storage::Store::connect(&db.url).await.unwrap();
    let mut ds = small_city();
    let owner = ds.outlets[0].id.clone();
    let full = Merchant::try_from(MerchantDraft {
        id: "全字段-1".into(),
        name: "张公桥甜皮鸭（总店）\t\"引号\"".into(),
        category: ds.merchants[0].category.clone(),
        lon: 103.761_234_567_891,
        lat: 29.569_876_543_21,
        address: Some("乐山市市中区张公桥好吃街 1 号\n二楼".into()),
        footfall_daily: Some(1234.0),
        avg_spend_cny: Some(35.37),
        rating: Some(4.3),
        opening_hours: Some("Mo-Su 10:00-22:00".into()),
        accepts_ecny: true,
        competitor_signed: Some("招商银行".into()),
        chain: Some("蜜雪冰城".into()),
        status: PipelineStatus::Rejected,
        status_since: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
        owner_org_id: Some(owner),
        contact_name: Some("王老板".into()),
        contact_phone: Some("13812345678".into()),
    })
    .unwrap();
    let bare = Merchant::try_from(MerchantDraft {
        id: "bare".into(),
        name: "x".into(),
        category: ds.merchants[0].category.clone(),
        lon: -0.0,
        lat: 0.0,
        ..Default::default()
    })
    .unwrap();
    ds.merchants.push(full);
    ds.merchants.push(bare);
    store.write_dataset(&ds).await.unwrap();

    let mut streamed = Vec::new();
    store
        .for_each_merchant(|m| streamed.push(m.to_merchant()))
        .await
        .unwrap();
    streamed.sort_by(|a, b| a.id.cmp(&b.id));
    let loaded = store.load().await.unwrap().merchants;
    assert_eq!(streamed.len(), ds.merchants.len());
    assert_eq!(streamed, loaded);

    let mut table = ecomap::index::MerchantTable::default();
    store
        .for_each_merchant(|m| table.push_fields(m))
        .await
        .unwrap();
    let layer = ecomap::index::MerchantLayer::from_slots(table);
    let mut back = layer.table().to_vec();
    back.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(back, loaded);
    let m = layer.get("全字段-1").unwrap();
    assert_eq!(
        m.contact().and_then(|c| c.phone.as_deref()),
        Some("13812345678")
    );
    assert_eq!(m.address(), Some("乐山市市中区张公桥好吃街 1 号\n二楼"));
    store.close().await;
}
both_backends!(start_up_streams_the_same_merchants_as_the_load);

/// A write of several INSERT batches whose first batch has no rating or spend at all and whose
/// later batches do (sqlx's Any driver once typed those NULLs as float4 on PostgreSQL, and the
/// later float8 values were then refused: 22P03).
async fn empty_decimals_in_a_first_batch_do_not_break_later_batches(db: &TestDb) {
    let store = ecomap::storage::Store::connect(&db.url).await.unwrap();
    let mut ds = generate(&GenConfig {
        seed: 5,
        merchants: 5_000,
        ..GenConfig::default()
    });
    for (i, m) in ds.merchants.iter_mut().enumerate() {
        let filled = i >= 2_500;
        m.rating = filled.then_some(4.5);
        m.avg_spend_cny = filled.then_some(38.0);
        m.footfall_daily = None;
    }
    store.write_dataset(&ds).await.unwrap();
    let back = store.load().await.unwrap();
    let rated = back
        .merchants
        .iter()
        .filter(|m| m.rating == Some(4.5))
        .count();
    let unrated = back.merchants.iter().filter(|m| m.rating.is_none()).count();
    assert_eq!((rated, unrated), (2_500, 2_500));
    // The same statement shapes again, values first this time.
    for m in ds.merchants.iter_mut() {
        m.rating = m.rating.xor(Some(3.0));
    }
    store.write_dataset(&ds).await.unwrap();
    let back = store.load().await.unwrap();
    assert_eq!(
        back.merchants
            .iter()
            .filter(|m| m.rating == Some(3.0))
            .count(),
        2_500
    );
    store.close().await;
}
both_backends!(empty_decimals_in_a_first_batch_do_not_break_later_batches);

async fn upsert_updates_by_id_instead_of_duplicating(db: &TestDb) {
    let db_url = db.url.clone();
    {
        let store = ecomap::storage::Store::connect(&db_url).await.unwrap();
        let ds = small_city();
        let first: Vec<Merchant> = ds.merchants.iter().take(10).cloned().collect();
        let c = store.upsert_merchants(&first).await.unwrap();
        assert_eq!((c.inserted, c.updated), (10, 0));
        let mut d = first[3].to_draft();
        d.name = "改名后的商户".into();
        d.status = PipelineStatus::Signed;
        let changed = Merchant::try_from(d).unwrap();
        let c = store
            .upsert_merchants(&[changed.clone(), ds.merchants[10].clone()])
            .await
            .unwrap();
        assert_eq!((c.inserted, c.updated), (1, 1));
        let back = store.load().await.unwrap();
        assert_eq!(back.merchants.len(), 11);
        let got = back.merchants.iter().find(|m| m.id == changed.id).unwrap();
        assert_eq!(got, &changed);
        store.close().await;
    }
}
both_backends!(upsert_updates_by_id_instead_of_duplicating);

async fn migrations_run_once_and_reconnecting_keeps_data(db: &TestDb) {
    let db_url = db.url.clone();
    {
        let store = ecomap::storage::Store::connect(&db_url).await.unwrap();
        store.write_dataset(&small_city()).await.unwrap();
        store.close().await;
        let again = ecomap::storage::Store::connect(&db_url).await.unwrap();
        assert_eq!(
            again.load().await.unwrap().merchants.len(),
            small_city().merchants.len()
        );
        again.close().await;
    }
}
both_backends!(migrations_run_once_and_reconnecting_keeps_data);

/// Two processes writing one SQLite file at once: IMMEDIATE transactions and the busy timeout
/// make the second wait for the first instead of failing with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sqlite_writers_wait_instead_of_failing() {
    let db = TestDb::sqlite().await;
    let ds = small_city();
    let a = ecomap::storage::Store::connect(&db.url).await.unwrap();
    let b = ecomap::storage::Store::connect(&db.url).await.unwrap();
    let (left, right) = ds.merchants.split_at(ds.merchants.len() / 2);
    let mut tasks = Vec::new();
    for round in 0..8 {
        let (store, part) = if round % 2 == 0 {
            (a.clone(), left.to_vec())
        } else {
            (b.clone(), right.to_vec())
        };
        tasks.push(tokio::spawn(
            async move { store.upsert_merchants(&part).await },
        ));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(a.load().await.unwrap().merchants.len(), ds.merchants.len());
    db.cleanup().await;
}

/// A street network is stored as one blob and comes back byte for byte (every byte value, and
/// a size like a city's); the newest one is the one in use; a rolled-back import leaves none.
async fn street_networks_round_trip_as_blobs(db: &TestDb) {
    let store = db.store().await;
    assert!(store.network().await.unwrap().is_none());
    let mut big: Vec<u8> = (0..=255u8).collect();
    big.extend((0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let report = serde_json::json!({"vertices": 12, "edges": 34});
    let mut tx = store.begin_write().await.unwrap();
    ecomap::storage::network::save_network(&mut tx, "rolled back", &report, b"x", "t")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.network().await.unwrap().is_none());
    for (source, data) in [("first.osm.pbf", &b"old"[..]), ("second.osm.pbf", &big[..])] {
        let mut tx = store.begin_write().await.unwrap();
        ecomap::storage::network::save_network(&mut tx, source, &report, data, "tester")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let n = store.network().await.unwrap().unwrap();
    assert_eq!(n.source, "second.osm.pbf");
    assert_eq!(n.report, report);
    assert!(n.data == big, "the blob comes back byte for byte");
}
both_backends!(street_networks_round_trip_as_blobs);
