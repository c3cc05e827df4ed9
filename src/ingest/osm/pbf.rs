//! Reading a PBF extract into the few objects an import needs, in up to three passes over the
//! file's blocks, each decoded in parallel:
//!
//! 1. every block: count the objects, classify tagged nodes, ways and multipolygon relations
//!    (`classify`), keep those that become something, and note which blocks hold nodes and ways;
//! 2. only blocks with ways, and only if a kept relation has member ways that were not kept in
//!    pass 1 (untagged rings, or rings tagged as something else such as a road): their node lists;
//! 3. only blocks with nodes: the positions of the nodes that kept ways and member ways use.
//!
//! Memory stays proportional to what is imported, not to the extract (a city's extract has
//! millions of nodes, an import needs a few per cent of them). The price is decoding node blocks
//! twice; docs/OSM.md measures it.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use osmpbf::{BlobReader, BlobType, ByteOffset, PrimitiveBlock, RelMemberType};

use super::classify::{classify, Class, Notes, Rules};
use super::{ElementCounts, OsmError, OsmProgress, OsmStage};

/// The most threads that decode blocks: a server keeps cores for its requests.
const MAX_THREADS: usize = 8;

/// Header features this reader understands (PBF's `required_features`).
const KNOWN_FEATURES: [&str; 3] = ["OsmSchema-V0.6", "DenseNodes", "Sort.Type_then_ID"];

/// What kind of OSM object an id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum OsmType {
    Node,
    Way,
    Relation,
}

impl OsmType {
    pub(crate) fn letter(self) -> char {
        match self {
            OsmType::Node => 'n',
            OsmType::Way => 'w',
            OsmType::Relation => 'r',
        }
    }
}

/// The stable ecomap id of an OSM object: `osm:n6254`, `osm:w167`, `osm:r112`.
pub(crate) fn osm_id(kind: OsmType, id: i64) -> String {
    format!("osm:{}{id}", kind.letter())
}

/// A relation member that can be part of an area: a way with role outer or inner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub way: i64,
    pub inner: bool,
}

/// One kept object: its id, its tags, what it becomes, and its raw geometry (`G`).
#[derive(Debug, Clone)]
pub(crate) struct Obj<G> {
    pub id: i64,
    pub tags: Vec<(String, String)>,
    pub class: Class,
    pub geo: G,
}

impl<G> Obj<G> {
    /// The tags as borrowed pairs, the form `classify` and the builders read.
    pub(crate) fn tag_view(&self) -> Vec<(&str, &str)> {
        self.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// Positions of the nodes that kept ways use, looked up by id (sorted ids, binary search).
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeCoords {
    ids: Vec<i64>,
    pos: Vec<Option<[f64; 2]>>,
}

impl NodeCoords {
    /// For hand-made element sets in tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(mut pairs: Vec<(i64, [f64; 2])>) -> Self {
        pairs.sort_by_key(|p| p.0);
        Self {
            ids: pairs.iter().map(|p| p.0).collect(),
            pos: pairs.iter().map(|p| Some(p.1)).collect(),
        }
    }

    /// `[lon, lat]` of a node, `None` when the extract does not have it.
    pub(crate) fn get(&self, id: i64) -> Option<[f64; 2]> {
        self.ids.binary_search(&id).ok().and_then(|i| self.pos[i])
    }
}

/// What the passes found: the kept objects (in file order), the node lists of relation member
/// ways, the positions of the nodes they use, and what was counted on the way.
#[derive(Debug, Clone, Default)]
pub(crate) struct Elements {
    pub nodes: Vec<Obj<[f64; 2]>>,
    pub ways: Vec<Obj<Vec<i64>>>,
    pub relations: Vec<Obj<Vec<Member>>>,
    /// Node lists of the member ways of kept relations that are in the file.
    pub member_ways: HashMap<i64, Vec<i64>>,
    pub coords: NodeCoords,
    pub counts: ElementCounts,
    pub notes: Notes,
    pub blocks: usize,
}

/// How long each pass took, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PassTimes {
    pub scan_s: f64,
    pub member_ways_s: f64,
    pub nodes_s: f64,
}

/// Reads `bytes` (a whole `.osm.pbf`) with the three passes.
pub(crate) fn read(
    bytes: &[u8],
    rules: &Rules,
    progress: &mut dyn FnMut(OsmProgress),
) -> Result<(Elements, PassTimes), OsmError> {
    let mut times = PassTimes::default();
    let started = std::time::Instant::now();
    let offsets = index(bytes)?;
    let blocks = run_blocks(bytes, &offsets, OsmStage::Scan, progress, |block| {
        scan_block(block, rules)
    })?;
    times.scan_s = started.elapsed().as_secs_f64();

    let mut el = Elements {
        blocks: offsets.len(),
        ..Elements::default()
    };
    let mut node_blocks = Vec::new();
    let mut way_blocks = Vec::new();
    for (b, off) in blocks.into_iter().zip(&offsets) {
        if b.has_nodes {
            node_blocks.push(*off);
        }
        if b.has_ways {
            way_blocks.push(*off);
        }
        el.counts.nodes += b.counts.nodes;
        el.counts.ways += b.counts.ways;
        el.counts.relations += b.counts.relations;
        el.notes.merge(b.notes);
        el.nodes.extend(b.nodes);
        el.ways.extend(b.ways);
        el.relations.extend(b.relations);
    }

    // Pass 2: member ways of kept relations that pass 1 did not keep.
    let started = std::time::Instant::now();
    let wanted: HashSet<i64> = el
        .relations
        .iter()
        .flat_map(|r| r.geo.iter().map(|m| m.way))
        .collect();
    let kept_ways: HashMap<i64, usize> =
        el.ways.iter().enumerate().map(|(i, w)| (w.id, i)).collect();
    for &id in &wanted {
        if let Some(&i) = kept_ways.get(&id) {
            el.member_ways.insert(id, el.ways[i].geo.clone());
        }
    }
    let missing: HashSet<i64> = wanted
        .into_iter()
        .filter(|id| !el.member_ways.contains_key(id))
        .collect();
    if !missing.is_empty() {
        let found = run_blocks(
            bytes,
            &way_blocks,
            OsmStage::MemberWays,
            progress,
            |block| member_ways_of_block(block, &missing),
        )?;
        el.member_ways.extend(found.into_iter().flatten());
    }
    times.member_ways_s = started.elapsed().as_secs_f64();

    // Pass 3: positions of the nodes the kept ways and member ways use.
    let started = std::time::Instant::now();
    let mut needed: Vec<i64> = el
        .ways
        .iter()
        .flat_map(|w| w.geo.iter().copied())
        .chain(el.member_ways.values().flatten().copied())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let mut pos = vec![None; needed.len()];
    if !needed.is_empty() {
        let found = run_blocks(bytes, &node_blocks, OsmStage::Nodes, progress, |block| {
            positions_in_block(block, &needed)
        })?;
        for (i, p) in found.into_iter().flatten() {
            pos[i] = Some(p);
        }
    }
    el.coords = NodeCoords { ids: needed, pos };
    times.nodes_s = started.elapsed().as_secs_f64();
    Ok((el, times))
}

/// The offsets of the file's data blocks, after checking that it is a PBF file: an OSMHeader
/// block first, features this reader understands, and blocks that end where the file ends.
fn index(bytes: &[u8]) -> Result<Vec<ByteOffset>, OsmError> {
    let not_pbf = |why: String| OsmError::NotPbf(why);
    if bytes.is_empty() {
        return Err(not_pbf("the file is empty".into()));
    }
    let mut reader =
        BlobReader::new_seekable(Cursor::new(bytes)).map_err(|e| not_pbf(e.to_string()))?;
    let mut header = None;
    let mut data = Vec::new();
    let mut end = 0u64;
    while let Some(next) = reader.next_header_skip_blob() {
        let (head, offset) = next.map_err(|e| {
            if header.is_none() {
                not_pbf(e.to_string())
            } else {
                OsmError::Damaged(format!("after byte {end}: {e}"))
            }
        })?;
        let offset = offset.ok_or_else(|| OsmError::Damaged("a block has no offset".into()))?;
        let now = reader
            .seek_raw(SeekFrom::Current(0))
            .map_err(|e| OsmError::Damaged(e.to_string()))?;
        // A negative or oversized block size would make the reader go back or past the end.
        if now <= end || now > bytes.len() as u64 {
            return Err(if header.is_none() {
                not_pbf("the first block's size does not fit the file".into())
            } else {
                OsmError::Damaged(format!(
                    "the block at byte {} ends past the end of the file (truncated?)",
                    offset.0
                ))
            });
        }
        end = now;
        match head.blob_type() {
            BlobType::OsmHeader if header.is_none() => header = Some(offset),
            BlobType::OsmHeader => {
                return Err(OsmError::Damaged("a second OSMHeader block".into()));
            }
            BlobType::OsmData if header.is_some() => data.push(offset),
            BlobType::OsmData => {
                return Err(not_pbf("data comes before the OSMHeader block".into()));
            }
            BlobType::Unknown(_) => {}
        }
    }
    let Some(header) = header else {
        return Err(not_pbf("no OSMHeader block".into()));
    };
    if end != bytes.len() as u64 {
        return Err(OsmError::Damaged(format!(
            "{} stray bytes after the last block (truncated?)",
            bytes.len() as u64 - end
        )));
    }
    let head = reader
        .blob_from_offset(header)
        .and_then(|b| b.to_headerblock())
        .map_err(|e| not_pbf(format!("unreadable OSMHeader block: {e}")))?;
    let unknown: Vec<&str> = head
        .required_features()
        .iter()
        .map(String::as_str)
        .filter(|f| !KNOWN_FEATURES.contains(f))
        .collect();
    if !unknown.is_empty() {
        return Err(OsmError::Unsupported(unknown.join(", ")));
    }
    Ok(data)
}

/// Decodes the blocks at `offsets` on several threads and applies `work` to each; the results
/// come back in file order. The first error (by position in the file) stops the rest. The
/// reader is not trusted with hostile input: a panic while decoding is a damaged block.
fn run_blocks<T, F>(
    bytes: &[u8],
    offsets: &[ByteOffset],
    stage: OsmStage,
    progress: &mut dyn FnMut(OsmProgress),
    work: F,
) -> Result<Vec<T>, OsmError>
where
    T: Send,
    F: Fn(&PrimitiveBlock) -> T + Sync,
{
    let n = offsets.len();
    progress(OsmProgress {
        stage,
        done: 0,
        total: n,
    });
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, MAX_THREADS)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<T, OsmError>)>();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut first_error: Option<(usize, OsmError)> = None;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            s.spawn(move || {
                let mut reader = match BlobReader::new_seekable(Cursor::new(bytes)) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send((0, Err(OsmError::Damaged(e.to_string()))));
                        return;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        reader
                            .blob_from_offset(offsets[i])
                            .and_then(|b| b.to_primitiveblock())
                            .map(|block| work(&block))
                    }))
                    .unwrap_or_else(|_| {
                        Err(osmpbf::Error::from(std::io::Error::other(
                            "the block's content is inconsistent",
                        )))
                    })
                    .map_err(|e| OsmError::Damaged(format!("block at byte {}: {e}", offsets[i].0)));
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (done, (i, result)) in rx.into_iter().enumerate() {
            progress(OsmProgress {
                stage,
                done: done + 1,
                total: n,
            });
            match result {
                Ok(t) => out[i] = Some(t),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
        }
    });
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    Ok(out.into_iter().flatten().collect())
}

/// What pass 1 takes from one block.
#[derive(Debug, Default)]
struct ScanBlock {
    has_nodes: bool,
    has_ways: bool,
    counts: ElementCounts,
    notes: Notes,
    nodes: Vec<Obj<[f64; 2]>>,
    ways: Vec<Obj<Vec<i64>>>,
    relations: Vec<Obj<Vec<Member>>>,
}

fn owned(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn scan_block(block: &PrimitiveBlock, rules: &Rules) -> ScanBlock {
    let mut out = ScanBlock::default();
    let mut tags: Vec<(&str, &str)> = Vec::new();
    for group in block.groups() {
        for n in group.dense_nodes() {
            out.has_nodes = true;
            out.counts.nodes += 1;
            if n.tags().len() == 0 {
                continue;
            }
            tags.clear();
            tags.extend(n.tags());
            keep_node(
                &mut out,
                rules,
                &tags,
                n.id(),
                degrees(n.decimicro_lon(), n.decimicro_lat()),
            );
        }
        for n in group.nodes() {
            out.has_nodes = true;
            out.counts.nodes += 1;
            tags.clear();
            tags.extend(n.tags());
            if !tags.is_empty() {
                keep_node(
                    &mut out,
                    rules,
                    &tags,
                    n.id(),
                    degrees(n.decimicro_lon(), n.decimicro_lat()),
                );
            }
        }
        for w in group.ways() {
            out.has_ways = true;
            out.counts.ways += 1;
            tags.clear();
            tags.extend(w.tags());
            if tags.is_empty() {
                continue;
            }
            let class = classify(&tags, rules, OsmType::Way);
            out.notes.note(&class);
            if class.wants_geometry() {
                out.ways.push(Obj {
                    id: w.id(),
                    tags: owned(&tags),
                    class,
                    geo: w.refs().collect(),
                });
            }
        }
        for r in group.relations() {
            out.counts.relations += 1;
            tags.clear();
            tags.extend(r.tags());
            let class = classify(&tags, rules, OsmType::Relation);
            out.notes.note(&class);
            if !class.wants_geometry() {
                continue;
            }
            let members = r
                .members()
                .filter(|m| m.member_type == RelMemberType::Way)
                .filter_map(|m| match m.role().unwrap_or("") {
                    "outer" | "" => Some(Member {
                        way: m.member_id,
                        inner: false,
                    }),
                    "inner" => Some(Member {
                        way: m.member_id,
                        inner: true,
                    }),
                    _ => None,
                })
                .collect();
            out.relations.push(Obj {
                id: r.id(),
                tags: owned(&tags),
                class,
                geo: members,
            });
        }
    }
    out
}

fn keep_node(out: &mut ScanBlock, rules: &Rules, tags: &[(&str, &str)], id: i64, pos: [f64; 2]) {
    let class = classify(tags, rules, OsmType::Node);
    out.notes.note(&class);
    if class.wants_geometry() {
        out.nodes.push(Obj {
            id,
            tags: owned(tags),
            class,
            geo: pos,
        });
    }
}

/// `[lon, lat]` in degrees from PBF's 100-nanodegree units, as the decimal OSM shows (9.522495
/// rather than 9.522495000000001).
fn degrees(lon: i32, lat: i32) -> [f64; 2] {
    [f64::from(lon) / 1e7, f64::from(lat) / 1e7]
}

fn member_ways_of_block(block: &PrimitiveBlock, wanted: &HashSet<i64>) -> Vec<(i64, Vec<i64>)> {
    let mut out = Vec::new();
    for group in block.groups() {
        for w in group.ways() {
            if wanted.contains(&w.id()) {
                out.push((w.id(), w.refs().collect()));
            }
        }
    }
    out
}

/// `(index in needed, [lon, lat])` for every node of this block that is needed.
fn positions_in_block(block: &PrimitiveBlock, needed: &[i64]) -> Vec<(usize, [f64; 2])> {
    let mut out = Vec::new();
    for group in block.groups() {
        for n in group.dense_nodes() {
            if let Ok(i) = needed.binary_search(&n.id()) {
                out.push((i, degrees(n.decimicro_lon(), n.decimicro_lat())));
            }
        }
        for n in group.nodes() {
            if let Ok(i) = needed.binary_search(&n.id()) {
                out.push((i, degrees(n.decimicro_lon(), n.decimicro_lat())));
            }
        }
    }
    out
}
