//! What part of the organisation a user sees: the org nodes (org units and our outlets) in
//! their subtree. An object is in scope when its owner node is.

use std::collections::{HashMap, HashSet};

use super::{Role, User};
use crate::domain::{OrgUnit, Outlet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Administrators: everything, including objects with no owner.
    All,
    /// The node ids of the user's subtree, and of the units above it (whose shared reference
    /// data, communities and areas, flows down to read).
    Nodes {
        own: HashSet<String>,
        above: HashSet<String>,
    },
}

impl Scope {
    /// The scope of `user` in the tree formed by `units` and our `outlets` (leaves under their
    /// parent unit). A non-admin whose node no longer exists sees nothing.
    pub fn of(user: &User, units: &[OrgUnit], outlets: &[Outlet]) -> Scope {
        if user.role == Role::Admin {
            return Scope::All;
        }
        let Some(root) = &user.org_node_id else {
            return Scope::none();
        };
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut parent: HashMap<&str, &str> = HashMap::new();
        for u in units {
            parent.entry(&u.id).or_insert("");
            if let Some(p) = &u.parent_id {
                children.entry(p).or_default().push(&u.id);
                parent.insert(&u.id, p);
            }
        }
        for o in outlets.iter().filter(|o| o.is_ours()) {
            parent.entry(&o.id).or_insert("");
            if let Some(p) = &o.parent_org_id {
                children.entry(p).or_default().push(&o.id);
                parent.insert(&o.id, p);
            }
        }
        if !parent.contains_key(root.as_str()) {
            return Scope::none();
        }
        let mut own = HashSet::new();
        let mut stack = vec![root.as_str()];
        while let Some(n) = stack.pop() {
            if own.insert(n.to_string()) {
                stack.extend(children.get(n).into_iter().flatten());
            }
        }
        let mut above = HashSet::new();
        let mut at = root.as_str();
        while let Some(&p) = parent.get(at) {
            if p.is_empty() || !above.insert(p.to_string()) {
                break;
            }
            at = p;
        }
        Scope::Nodes { own, above }
    }

    fn none() -> Scope {
        Scope::Nodes {
            own: HashSet::new(),
            above: HashSet::new(),
        }
    }

    /// Whether an object owned by `owner` is the caller's (to read and to write): merchants,
    /// imports.
    pub fn contains(&self, owner: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Nodes { own, .. } => owner.is_some_and(|o| own.contains(o)),
        }
    }

    /// Whether shared reference data (communities, areas) owned by `owner` may be read: the
    /// caller's own, or owned by a unit above them (a sub-branch's communities are visible to
    /// its outlets' staff), never a sibling's.
    pub fn sees_shared(&self, owner: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Nodes { own, above } => {
                owner.is_some_and(|o| own.contains(o) || above.contains(o))
            }
        }
    }

    /// Outlets: competitors' are public reference data; ours are in scope by their own node.
    pub fn sees_outlet(&self, o: &Outlet) -> bool {
        !o.is_ours() || self.contains(Some(&o.id))
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgLevel, OrgUnitDraft, OutletDraft};

    fn unit(id: &str, level: OrgLevel, parent: Option<&str>) -> OrgUnit {
        OrgUnit::try_from(OrgUnitDraft {
            id: id.into(),
            name: id.into(),
            level,
            parent_id: parent.map(str::to_string),
        })
        .unwrap()
    }

    fn outlet(id: &str, parent: &str) -> Outlet {
        Outlet::try_from(OutletDraft {
            id: id.into(),
            name: id.into(),
            parent_org_id: Some(parent.into()),
            lon: 103.7,
            lat: 29.5,
            ..Default::default()
        })
        .unwrap()
    }

    fn user(role: Role, node: Option<&str>) -> User {
        User {
            id: "u".into(),
            username: "u".into(),
            display_name: "u".into(),
            role,
            org_node_id: node.map(str::to_string),
            can_unmask: false,
            disabled: false,
        }
    }

    #[test]
    fn a_branch_sees_its_subtree_and_staff_their_outlet() {
        let units = vec![
            unit("HQ", OrgLevel::HeadOffice, None),
            unit("CB", OrgLevel::CityBranch, Some("HQ")),
            unit("S1", OrgLevel::SubBranch, Some("CB")),
            unit("S2", OrgLevel::SubBranch, Some("CB")),
        ];
        let outlets = vec![outlet("O1", "S1"), outlet("O2", "S2")];
        let s1 = Scope::of(&user(Role::Branch, Some("S1")), &units, &outlets);
        assert!(s1.contains(Some("S1")) && s1.contains(Some("O1")));
        assert!(!s1.contains(Some("O2")) && !s1.contains(Some("CB")) && !s1.contains(None));
        let cb = Scope::of(&user(Role::Branch, Some("CB")), &units, &outlets);
        assert!(cb.contains(Some("O1")) && cb.contains(Some("O2")));
        let staff = Scope::of(&user(Role::Staff, Some("O2")), &units, &outlets);
        assert!(staff.contains(Some("O2")) && !staff.contains(Some("S2")));
        assert!(staff.sees_shared(Some("S2")) && staff.sees_shared(Some("HQ")));
        assert!(!staff.sees_shared(Some("S1")) && !staff.sees_shared(Some("O1")));
        assert!(!s1.sees_shared(Some("O2")) && s1.sees_shared(Some("CB")));
        assert!(Scope::of(&user(Role::Admin, None), &units, &outlets).contains(None));
        let ghost = Scope::of(&user(Role::Branch, Some("NOPE")), &units, &outlets);
        assert!(!ghost.contains(Some("NOPE")));
    }
}
