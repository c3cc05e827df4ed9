//! Merchants in columns: the index's store for the one kind that comes by the tens of millions.
//!
//! A `Vec<Merchant>` costs about 270 bytes of struct per merchant plus up to eight small heap
//! strings (≈ 0.6 KB in all with the index), so 30M merchants would not fit a machine that also
//! runs PostgreSQL. Here each field is a column indexed by slot: fixed-size values as they are
//! (`Location`, status, footfall with `u32::MAX` for none, spend and rating with NaN for none),
//! the short repeated texts (category, opening hours, competitor bank, chain, owner) as 4-byte
//! codes into one interner, and the texts that differ per merchant (id, name, address) back to
//! back in one byte arena addressed by an offset and three lengths. Contacts, which few
//! merchants have, sit in a map by slot. That is about 80 bytes plus the texts per merchant.
//!
//! [`MerchantTable::sort_spatially`] orders the slots along a Z-order curve over lon/lat, so
//! merchants near each other on the map are near each other in every column: a radius scan's
//! hits read a few cache lines rather than one random line per merchant.
//!
//! Hand-written rather than a dataframe crate (polars, arrow): the index needs in-place updates
//! by slot, swap-removal and borrowed `&str` views without copies, which those crates' immutable
//! arrays do not offer cheaply.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::{Contact, Location, Merchant, MerchantFields, PipelineStatus};

/// Marks an absent address in [`MerchantTable::lens`].
const NO_TEXT: u32 = u32::MAX;
/// Marks an absent footfall (validated footfall is at most 10,000,000).
const NO_FOOTFALL: u32 = u32::MAX;

/// The interned texts' positions in [`MerchantTable::codes`].
const CATEGORY: usize = 0;
const HOURS: usize = 1;
const COMPETITOR: usize = 2;
const CHAIN: usize = 3;
const OWNER: usize = 4;

/// Short texts that repeat across merchants, stored once each; code 0 is "none". Looked up five
/// times per merchant loaded, so with hashbrown's foldhash rather than std's SipHash.
#[derive(Debug, Clone)]
struct Interner {
    texts: Vec<Box<str>>,
    codes: hashbrown::HashMap<Box<str>, u32>,
}

impl Default for Interner {
    fn default() -> Self {
        Self {
            texts: vec!["".into()],
            codes: hashbrown::HashMap::default(),
        }
    }
}

impl Interner {
    fn code(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return 0 };
        if let Some(&c) = self.codes.get(text) {
            return c;
        }
        let c = self.texts.len() as u32;
        self.texts.push(text.into());
        self.codes.insert(text.into(), c);
        c
    }

    fn text(&self, code: u32) -> Option<&str> {
        (code != 0).then(|| &*self.texts[code as usize])
    }
}

/// The merchants of the index, one column per field, indexed by slot.
#[derive(Debug, Clone, Default)]
pub struct MerchantTable {
    locations: Vec<Location>,
    /// Interned category, opening hours, competitor bank, chain and owner (0: none).
    codes: Vec<[u32; 5]>,
    status: Vec<PipelineStatus>,
    status_since: Vec<Option<NaiveDate>>,
    accepts_ecny: Vec<bool>,
    footfall: Vec<u32>,
    avg_spend: Vec<f64>,
    rating: Vec<f64>,
    /// Where the slot's id, name and address start in `text`.
    text_at: Vec<u64>,
    /// Byte lengths of the id, name and address ([`NO_TEXT`]: no address).
    lens: Vec<[u32; 3]>,
    text: Vec<u8>,
    /// Bytes in `text` no slot points at any more (left by updates and removals).
    garbage: u64,
    contacts: HashMap<u32, Box<Contact>>,
    interner: Interner,
}

/// One merchant in a [`MerchantTable`], read field by field without copying.
#[derive(Clone, Copy)]
pub struct MerchantRef<'a> {
    table: &'a MerchantTable,
    slot: u32,
}

impl std::fmt::Debug for MerchantRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantRef")
            .field("slot", &self.slot)
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl MerchantTable {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            locations: Vec::with_capacity(n),
            codes: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            status_since: Vec::with_capacity(n),
            accepts_ecny: Vec::with_capacity(n),
            footfall: Vec::with_capacity(n),
            avg_spend: Vec::with_capacity(n),
            rating: Vec::with_capacity(n),
            text_at: Vec::with_capacity(n),
            lens: Vec::with_capacity(n),
            text: Vec::with_capacity(n * 48),
            ..Self::default()
        }
    }

    /// A table of these merchants in this order (slot `i` is `items[i]`).
    pub fn from_merchants(items: Vec<Merchant>) -> Self {
        let mut t = Self::with_capacity(items.len());
        for m in items {
            t.push(m);
        }
        t
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// The merchant in a slot. Panics if `slot >= len`.
    pub fn get(&self, slot: u32) -> MerchantRef<'_> {
        assert!(
            (slot as usize) < self.len(),
            "merchant slot {slot} out of range"
        );
        MerchantRef { table: self, slot }
    }

    /// The merchant in a slot, if there is one.
    pub fn try_get(&self, slot: u32) -> Option<MerchantRef<'_>> {
        ((slot as usize) < self.len()).then_some(MerchantRef { table: self, slot })
    }

    /// Every merchant's location, by slot: for loops that need nothing else.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// Every merchant's pipeline status, by slot.
    pub fn statuses(&self) -> &[PipelineStatus] {
        &self.status
    }

    /// Appends a merchant in a new slot (`len` before the call).
    pub fn push(&mut self, m: Merchant) {
        let slot = self.len() as u32;
        self.push_fields(&MerchantFields::of(&m));
        if let Some(c) = m.contact {
            self.contacts.insert(slot, c);
        }
    }

    /// Appends a merchant, from fields borrowed where they are (start-up's rows).
    pub fn push_fields(&mut self, m: &MerchantFields<'_>) {
        let slot = self.len() as u32;
        let codes = self.codes_of(m);
        let (at, lens) = self.write_text(m);
        self.locations.push(m.location);
        self.codes.push(codes);
        self.status.push(m.status);
        self.status_since.push(m.status_since);
        self.accepts_ecny.push(m.accepts_ecny);
        self.footfall.push(m.footfall_daily.unwrap_or(NO_FOOTFALL));
        self.avg_spend.push(m.avg_spend_cny.unwrap_or(f64::NAN));
        self.rating.push(m.rating.unwrap_or(f64::NAN));
        self.text_at.push(at);
        self.lens.push(lens);
        if let Some(c) = m.contact() {
            self.contacts.insert(slot, Box::new(c));
        }
    }

    /// Replaces the merchant in a slot.
    pub fn set(&mut self, slot: u32, m: Merchant) {
        let i = slot as usize;
        let fields = MerchantFields::of(&m);
        let codes = self.codes_of(&fields);
        self.garbage += self.text_len(i);
        let (at, lens) = self.write_text(&fields);
        self.locations[i] = m.location;
        self.codes[i] = codes;
        self.status[i] = m.status;
        self.status_since[i] = m.status_since;
        self.accepts_ecny[i] = m.accepts_ecny;
        self.footfall[i] = m.footfall_daily.unwrap_or(NO_FOOTFALL);
        self.avg_spend[i] = m.avg_spend_cny.unwrap_or(f64::NAN);
        self.rating[i] = m.rating.unwrap_or(f64::NAN);
        self.text_at[i] = at;
        self.lens[i] = lens;
        match m.contact {
            Some(c) => {
                self.contacts.insert(slot, c);
            }
            None => {
                self.contacts.remove(&slot);
            }
        }
        self.compact_if_wasteful();
    }

    /// Removes the merchant in a slot, moving the last one into it, and returns it.
    pub fn swap_remove(&mut self, slot: u32) -> Merchant {
        let removed = self.get(slot).to_merchant();
        let i = slot as usize;
        let last = (self.len() - 1) as u32;
        self.garbage += self.text_len(i);
        self.locations.swap_remove(i);
        self.codes.swap_remove(i);
        self.status.swap_remove(i);
        self.status_since.swap_remove(i);
        self.accepts_ecny.swap_remove(i);
        self.footfall.swap_remove(i);
        self.avg_spend.swap_remove(i);
        self.rating.swap_remove(i);
        self.text_at.swap_remove(i);
        self.lens.swap_remove(i);
        self.contacts.remove(&slot);
        if slot != last {
            if let Some(c) = self.contacts.remove(&last) {
                self.contacts.insert(slot, c);
            }
        }
        self.compact_if_wasteful();
        removed
    }

    /// Orders the slots along a Z-order (Morton) curve over lon/lat, ties in slot order, so
    /// that neighbours on the map are neighbours in memory. Slots held from before are stale.
    /// Returns whether any slot moved.
    ///
    /// The texts stay where they are in their arena (only their offsets move): names and
    /// addresses are read for answers, not in scans, and rewriting 30M of them in the new order
    /// was a third of this sort's time. Two threads sort and move the columns (≈ 13 → 5 s for
    /// 30M here).
    pub fn sort_spatially(&mut self) -> bool {
        let n = self.len();
        let Some(order) = z_order(&self.locations) else {
            self.shrink_to_fit();
            return false;
        };
        debug_assert_eq!(order.len(), n);
        fn permute<T: Copy>(v: &mut Vec<T>, order: &[u32]) {
            *v = order.iter().map(|&s| v[s as usize]).collect();
        }
        std::thread::scope(|s| {
            let order = &order;
            let (locations, codes, text_at) =
                (&mut self.locations, &mut self.codes, &mut self.text_at);
            s.spawn(move || {
                permute(locations, order);
                permute(codes, order);
                permute(text_at, order);
            });
            permute(&mut self.status, order);
            permute(&mut self.status_since, order);
            permute(&mut self.accepts_ecny, order);
            permute(&mut self.footfall, order);
            permute(&mut self.avg_spend, order);
            permute(&mut self.rating, order);
            permute(&mut self.lens, order);
        });
        if !self.contacts.is_empty() {
            let mut new_slot = vec![0u32; n];
            for (new, &old) in order.iter().enumerate() {
                new_slot[old as usize] = new as u32;
            }
            self.contacts = std::mem::take(&mut self.contacts)
                .into_iter()
                .map(|(old, c)| (new_slot[old as usize], c))
                .collect();
        }
        self.text.shrink_to_fit();
        true
    }

    /// Gives back the columns' spare capacity (a column grown by doubling can hold up to twice
    /// what it needs). The sort's rewritten columns are exact already.
    fn shrink_to_fit(&mut self) {
        self.locations.shrink_to_fit();
        self.codes.shrink_to_fit();
        self.status.shrink_to_fit();
        self.status_since.shrink_to_fit();
        self.accepts_ecny.shrink_to_fit();
        self.footfall.shrink_to_fit();
        self.avg_spend.shrink_to_fit();
        self.rating.shrink_to_fit();
        self.text_at.shrink_to_fit();
        self.lens.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// All merchants as owned values, in slot order.
    pub fn to_vec(&self) -> Vec<Merchant> {
        (0..self.len() as u32)
            .map(|s| self.get(s).to_merchant())
            .collect()
    }

    /// Bytes held (columns, texts, interned texts; contacts roughly), for start-up reports.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.locations.capacity() * size_of::<Location>()
            + self.codes.capacity() * size_of::<[u32; 5]>()
            + self.status.capacity()
            + self.status_since.capacity() * size_of::<Option<NaiveDate>>()
            + self.accepts_ecny.capacity()
            + self.footfall.capacity() * 4
            + (self.avg_spend.capacity() + self.rating.capacity() + self.text_at.capacity()) * 8
            + self.lens.capacity() * 12
            + self.text.capacity()
            + self.contacts.len() * 80
            + self
                .interner
                .texts
                .iter()
                .map(|t| 2 * t.len() + 40)
                .sum::<usize>()
    }

    fn codes_of(&mut self, m: &MerchantFields<'_>) -> [u32; 5] {
        let mut c = [0; 5];
        c[CATEGORY] = self.interner.code(Some(m.category));
        c[HOURS] = self.interner.code(m.opening_hours);
        c[COMPETITOR] = self.interner.code(m.competitor_signed);
        c[CHAIN] = self.interner.code(m.chain);
        c[OWNER] = self.interner.code(m.owner_org_id);
        c
    }

    fn write_text(&mut self, m: &MerchantFields<'_>) -> (u64, [u32; 3]) {
        let at = self.text.len() as u64;
        self.text.extend_from_slice(m.id.as_bytes());
        self.text.extend_from_slice(m.name.as_bytes());
        let address = match m.address {
            Some(a) => {
                self.text.extend_from_slice(a.as_bytes());
                a.len() as u32
            }
            None => NO_TEXT,
        };
        (at, [m.id.len() as u32, m.name.len() as u32, address])
    }

    fn text_len(&self, i: usize) -> u64 {
        text_len_of(self.lens[i])
    }

    /// Rewrites the arena once more than a quarter of it is garbage (updates append).
    fn compact_if_wasteful(&mut self) {
        if self.garbage <= 4096 || self.garbage * 4 <= self.text.len() as u64 {
            return;
        }
        let mut text = Vec::with_capacity(self.text.len() - self.garbage as usize);
        for i in 0..self.len() {
            let from = self.text_at[i] as usize;
            let len = self.text_len(i) as usize;
            self.text_at[i] = text.len() as u64;
            text.extend_from_slice(&self.text[from..from + len]);
        }
        self.text = text;
        self.garbage = 0;
    }
}

fn text_len_of([id, name, address]: [u32; 3]) -> u64 {
    u64::from(id)
        + u64::from(name)
        + if address == NO_TEXT {
            0
        } else {
            u64::from(address)
        }
}

/// The slots in Z-order (ties in slot order), or `None` if they are in that order already. Two
/// threads each sort half; the halves are then merged.
fn z_order(locations: &[Location]) -> Option<Vec<u32>> {
    let keyed = |from: usize, part: &[Location]| -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = part
            .iter()
            .enumerate()
            .map(|(i, l)| (morton(*l), (from + i) as u32))
            .collect();
        v.sort_unstable();
        v
    };
    let mid = locations.len() / 2;
    let (a, b) = std::thread::scope(|s| {
        let b = s.spawn(|| keyed(mid, &locations[mid..]));
        let a = keyed(0, &locations[..mid]);
        (a, b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    let mut order = Vec::with_capacity(locations.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        // Ties go to the first half: its slots are lower.
        if b[j] < a[i] {
            order.push(b[j].1);
            j += 1;
        } else {
            order.push(a[i].1);
            i += 1;
        }
    }
    order.extend(a[i..].iter().map(|&(_, s)| s));
    order.extend(b[j..].iter().map(|&(_, s)| s));
    let sorted = order.iter().enumerate().all(|(i, &s)| s as usize == i);
    (!sorted).then_some(order)
}

/// The Z-order key of a location: 32 bits of longitude and of latitude, interleaved (plain
/// lon/lat: locality is all this order is for).
fn morton(l: Location) -> u64 {
    let x = ((l.lon() + 180.0) / 360.0 * f64::from(u32::MAX)) as u32;
    let y = ((l.lat() + 90.0) / 180.0 * f64::from(u32::MAX)) as u32;
    interleave(x, y)
}

/// The Morton code of two 32-bit coordinates: `x` in the even bits, `y` in the odd (also the
/// tiles' merchant order).
pub(crate) fn interleave(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut x = u64::from(v);
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// Equal when every field is (slots and tables may differ).
impl PartialEq for MerchantRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_merchant() == other.to_merchant()
    }
}

impl<'a> MerchantRef<'a> {
    fn i(&self) -> usize {
        self.slot as usize
    }

    /// The id (0), name (1) or address (2; `""` when there is none).
    fn text(&self, which: usize) -> &'a str {
        let t = self.table;
        let lens = t.lens[self.i()];
        if lens[which] == NO_TEXT {
            return "";
        }
        let from =
            t.text_at[self.i()] as usize + lens[..which].iter().map(|&l| l as usize).sum::<usize>();
        let bytes = &t.text[from..from + lens[which] as usize];
        // SAFETY: `write_text` copies whole `&str`s into the arena and records their byte
        // lengths; `sort_spatially` and `compact_if_wasteful` move each slot's three texts as
        // one run; so `from..from + len` is always exactly one of those strings, valid UTF-8.
        // Checking it again (`from_utf8`) cost 7% of a start-up, as ids are read to hash them.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The merchant's slot in its table.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    pub fn id(&self) -> &'a str {
        self.text(0)
    }

    pub fn name(&self) -> &'a str {
        self.text(1)
    }

    pub fn address(&self) -> Option<&'a str> {
        (self.table.lens[self.i()][2] != NO_TEXT).then(|| self.text(2))
    }

    fn code(&self, which: usize) -> Option<&'a str> {
        self.table.interner.text(self.table.codes[self.i()][which])
    }

    /// The category code (业态).
    pub fn category(&self) -> &'a str {
        self.code(CATEGORY).unwrap_or_default()
    }

    pub fn location(&self) -> Location {
        self.table.locations[self.i()]
    }

    pub fn footfall_daily(&self) -> Option<u32> {
        Some(self.table.footfall[self.i()]).filter(|&f| f != NO_FOOTFALL)
    }

    pub fn avg_spend_cny(&self) -> Option<f64> {
        Some(self.table.avg_spend[self.i()]).filter(|v| !v.is_nan())
    }

    pub fn rating(&self) -> Option<f64> {
        Some(self.table.rating[self.i()]).filter(|v| !v.is_nan())
    }

    pub fn opening_hours(&self) -> Option<&'a str> {
        self.code(HOURS)
    }

    pub fn accepts_ecny(&self) -> bool {
        self.table.accepts_ecny[self.i()]
    }

    pub fn competitor_signed(&self) -> Option<&'a str> {
        self.code(COMPETITOR)
    }

    pub fn chain(&self) -> Option<&'a str> {
        self.code(CHAIN)
    }

    pub fn status(&self) -> PipelineStatus {
        self.table.status[self.i()]
    }

    pub fn status_since(&self) -> Option<NaiveDate> {
        self.table.status_since[self.i()]
    }

    pub fn owner_org_id(&self) -> Option<&'a str> {
        self.code(OWNER)
    }

    /// Personal information: see [`Merchant::contact`].
    pub fn contact(&self) -> Option<&'a Contact> {
        self.table.contacts.get(&self.slot).map(|c| &**c)
    }

    /// The merchant as an owned value (for answers, exports and edits).
    pub fn to_merchant(&self) -> Merchant {
        Merchant {
            id: self.id().to_string(),
            name: self.name().to_string(),
            category: self.category().to_string(),
            location: self.location(),
            address: self.address().map(str::to_string),
            footfall_daily: self.footfall_daily(),
            avg_spend_cny: self.avg_spend_cny(),
            rating: self.rating(),
            opening_hours: self.opening_hours().map(str::to_string),
            accepts_ecny: self.accepts_ecny(),
            competitor_signed: self.competitor_signed().map(str::to_string),
            chain: self.chain().map(str::to_string),
            status: self.status(),
            status_since: self.status_since(),
            owner_org_id: self.owner_org_id().map(str::to_string),
            contact: self.contact().map(|c| Box::new(c.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MerchantDraft;
    use proptest::prelude::*;

    fn merchant(i: u32, lon: f64, lat: f64, full: bool) -> Merchant {
        Merchant::try_from(MerchantDraft {
            id: format!("m{i}"),
            name: format!("商户{i}号"),
            category: if i.is_multiple_of(2) {
                "dining"
            } else {
                "retail"
            }
            .into(),
            lon,
            lat,
            address: full.then(|| format!("春熙路{i}号")),
            footfall_daily: full.then_some(f64::from(i * 10)),
            avg_spend_cny: full.then_some(35.37),
            rating: full.then_some(4.3),
            opening_hours: full.then(|| "10:00-22:00".into()),
            accepts_ecny: full,
            competitor_signed: full.then(|| "招商银行".into()),
            chain: full.then(|| "蜜雪冰城".into()),
            status: if full {
                PipelineStatus::Signed
            } else {
                PipelineStatus::Prospect
            },
            status_since: full.then(|| NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            owner_org_id: full.then(|| format!("o{}", i % 3)),
            contact_name: (full && i.is_multiple_of(4)).then(|| "王老板".into()),
            contact_phone: (full && i.is_multiple_of(4)).then(|| "13812345678".into()),
        })
        .unwrap()
    }

    #[test]
    fn every_field_reads_back_as_written() {
        let mut t = MerchantTable::default();
        let ms: Vec<Merchant> = (0..40)
            .map(|i| merchant(i, 104.0 + f64::from(i) * 0.01, 30.6, i % 3 != 0))
            .collect();
        for m in ms.clone() {
            t.push(m);
        }
        assert_eq!(t.to_vec(), ms);
        assert_eq!(
            t.get(4).contact().and_then(|c| c.phone.as_deref()),
            Some("13812345678")
        );
        assert_eq!(t.get(3).address(), None);
        assert_eq!(t.get(3).rating(), None);
        assert_eq!(t.get(1).avg_spend_cny(), Some(35.37));
    }

    proptest! {
        /// Any mix of pushes, replacements, removals and spatial sorts leaves the table equal
        /// to a plain vector given the same operations.
        #[test]
        fn behaves_like_a_vec(ops in prop::collection::vec((0u8..4, 0u32..60, any::<bool>()), 1..120)) {
            let mut t = MerchantTable::default();
            let mut v: Vec<Merchant> = Vec::new();
            let mut n = 0;
            for (op, k, full) in ops {
                match op {
                    0 => {
                        n += 1;
                        let m = merchant(n, 100.0 + f64::from(k), 20.0 + f64::from(k % 7), full);
                        t.push(m.clone());
                        v.push(m);
                    }
                    1 if !v.is_empty() => {
                        let s = k as usize % v.len();
                        let mut m = merchant(n + 1000, 110.0, 25.0 + f64::from(k), full);
                        m.id = v[s].id.clone();
                        t.set(s as u32, m.clone());
                        v[s] = m;
                    }
                    2 if !v.is_empty() => {
                        let s = k as usize % v.len();
                        prop_assert_eq!(t.swap_remove(s as u32), v.swap_remove(s));
                    }
                    3 => {
                        t.sort_spatially();
                        let mut sorted: Vec<(u64, usize, Merchant)> = v
                            .drain(..)
                            .enumerate()
                            .map(|(i, m)| (morton(m.location), i, m))
                            .collect();
                        sorted.sort_by_key(|(key, i, _)| (*key, *i));
                        v = sorted.into_iter().map(|(_, _, m)| m).collect();
                    }
                    _ => {}
                }
                prop_assert_eq!(t.to_vec(), v.clone());
            }
        }
    }

    #[test]
    fn sorting_puts_neighbours_together() {
        let mut t = MerchantTable::default();
        // Two clusters pushed interleaved.
        for i in 0..100 {
            let (lon, lat) = if i % 2 == 0 {
                (104.0, 30.6)
            } else {
                (121.4, 31.2)
            };
            t.push(merchant(i, lon + f64::from(i) * 1e-5, lat, false));
        }
        t.sort_spatially();
        let far_jumps = t
            .locations()
            .windows(2)
            .filter(|w| w[0].distance_m(&w[1]) > 100_000.0)
            .count();
        assert_eq!(far_jumps, 1);
    }

    #[test]
    fn updates_do_not_grow_the_texts_without_bound() {
        let mut t = MerchantTable::default();
        for i in 0..100 {
            t.push(merchant(i, 104.0, 30.6, true));
        }
        for round in 0..50 {
            for s in 0..100 {
                let mut m = merchant(s, 104.0, 30.6, true);
                m.name = format!("改名{round}");
                t.set(s, m);
            }
        }
        assert!(t.text.len() < 4 * 100 * 40, "arena {} bytes", t.text.len());
        assert_eq!(t.get(7).name(), "改名49");
    }
}
