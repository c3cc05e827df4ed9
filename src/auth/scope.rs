//! What part of the organisation a user sees: the org nodes (org units and our outlets) in
//! their subtree. An object is in scope when its owner node is.

use std::collections::{HashMap, HashSet};

use super::{Role, User};
use crate::domain::{OrgUnit, Outlet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Administrators: everything, including objects with no owner.
    All,
    /// The node ids of the user's subtree.
    Nodes(HashSet<String>),
}

impl Scope {
    /// The scope of `user` in the tree formed by `units` and our `outlets` (leaves under their
    /// parent unit). A non-admin whose node no longer exists sees nothing.
    pub fn of(user: &User, units: &[OrgUnit], outlets: &[Outlet]) -> Scope {
        if user.role == Role::Admin {
            return Scope::All;
        }
        let Some(root) = &user.org_node_id else {
            return Scope::Nodes(HashSet::new());
        };
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut known: HashSet<&str> = HashSet::new();
        for u in units {
            known.insert(&u.id);
            if let Some(p) = &u.parent_id {
                children.entry(p).or_default().push(&u.id);
            }
        }
        for o in outlets.iter().filter(|o| o.is_ours()) {
            known.insert(&o.id);
            if let Some(p) = &o.parent_org_id {
                children.entry(p).or_default().push(&o.id);
            }
        }
        let mut nodes = HashSet::new();
        if !known.contains(root.as_str()) {
            return Scope::Nodes(nodes);
        }
        let mut stack = vec![root.as_str()];
        while let Some(n) = stack.pop() {
            if nodes.insert(n.to_string()) {
                stack.extend(children.get(n).into_iter().flatten());
            }
        }
        Scope::Nodes(nodes)
    }

    /// Whether an object owned by `owner` is visible.
    pub fn contains(&self, owner: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Nodes(n) => owner.is_some_and(|o| n.contains(o)),
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
        assert!(Scope::of(&user(Role::Admin, None), &units, &outlets).contains(None));
        let ghost = Scope::of(&user(Role::Branch, Some("NOPE")), &units, &outlets);
        assert!(!ghost.contains(Some("NOPE")));
    }
}
