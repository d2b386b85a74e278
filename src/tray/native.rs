//! The native menu: a [`MenuModel`] turned into muda items, always updated in place (so
//! an open menu is not torn down by a status change): item by item while its shape stays
//! the same, its items replaced inside the same menu when the shape changes.

use tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuId, MenuItem, PredefinedMenuItem, Submenu,
};

use crate::error_kind::NextStep;
use crate::tray::menu::{ActionId, Item, MenuModel};

/// Every clickable action, for mapping menu ids back.
const ACTIONS: [ActionId; 12] = [
    ActionId::Details,
    ActionId::NextStep(NextStep::OpenDocker),
    ActionId::NextStep(NextStep::ShowDetails),
    ActionId::NextStep(NextStep::Reset),
    ActionId::RevealFile,
    ActionId::Resync,
    ActionId::Reset,
    ActionId::OpenLogs,
    ActionId::CopyDiagnostics,
    ActionId::LaunchAtLogin,
    ActionId::About,
    ActionId::Quit,
];

/// The menu id of an action.
pub fn menu_id(action: ActionId) -> MenuId {
    MenuId::new(format!("{action:?}"))
}

/// The action a menu id stands for (`None` for labels).
pub fn action_of(id: &MenuId) -> Option<ActionId> {
    ACTIONS.into_iter().find(|a| menu_id(*a) == *id)
}

/// One native item, mirroring one [`Item`].
enum Widget {
    Text(MenuItem),
    Check(CheckMenuItem),
    Submenu(Submenu, Vec<Widget>),
    Separator(PredefinedMenuItem),
}

impl Widget {
    fn new(item: &Item) -> Widget {
        match item {
            Item::Label(text) => Widget::Text(MenuItem::new(text, false, None)),
            Item::Action { id, label, enabled } => {
                Widget::Text(MenuItem::with_id(menu_id(*id), label, *enabled, None))
            }
            Item::Check {
                id,
                label,
                checked,
                enabled,
            } => Widget::Check(CheckMenuItem::with_id(
                menu_id(*id),
                label,
                *enabled,
                *checked,
                None,
            )),
            Item::Submenu { label, items } => {
                let submenu = Submenu::new(label, true);
                let children: Vec<Widget> = items.iter().map(Widget::new).collect();
                for child in &children {
                    if let Err(e) = submenu.append(child.as_item()) {
                        tracing::warn!(error = %e, "cannot add a menu item");
                    }
                }
                Widget::Submenu(submenu, children)
            }
            Item::Separator => Widget::Separator(PredefinedMenuItem::separator()),
        }
    }

    fn as_item(&self) -> &dyn IsMenuItem {
        match self {
            Widget::Text(w) => w,
            Widget::Check(w) => w,
            Widget::Submenu(w, _) => w,
            Widget::Separator(w) => w,
        }
    }

    /// Shows `item` (of the same shape) in this widget.
    fn update(&self, item: &Item) {
        match (self, item) {
            (Widget::Text(w), Item::Label(text)) => set_text(w, text),
            (Widget::Text(w), Item::Action { label, enabled, .. }) => {
                set_text(w, label);
                if w.is_enabled() != *enabled {
                    w.set_enabled(*enabled);
                }
            }
            (
                Widget::Check(w),
                Item::Check {
                    label,
                    checked,
                    enabled,
                    ..
                },
            ) => {
                if w.text() != *label {
                    w.set_text(label);
                }
                if w.is_enabled() != *enabled {
                    w.set_enabled(*enabled);
                }
                if w.is_checked() != *checked {
                    w.set_checked(*checked);
                }
            }
            (Widget::Submenu(w, children), Item::Submenu { label, items }) => {
                if w.text() != *label {
                    w.set_text(label);
                }
                for (child, item) in children.iter().zip(items) {
                    child.update(item);
                }
            }
            _ => {}
        }
    }
}

fn set_text(w: &MenuItem, text: &str) {
    if w.text() != text {
        w.set_text(text);
    }
}

/// Whether two item lists have the same kinds of items in the same places (and so can be
/// updated in place).
fn same_shape(a: &[Item], b: &[Item]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Item::Submenu { items: i, .. }, Item::Submenu { items: j, .. }) => same_shape(i, j),
            (Item::Action { id: i, .. }, Item::Action { id: j, .. }) => i == j,
            (Item::Check { id: i, .. }, Item::Check { id: j, .. }) => i == j,
            _ => std::mem::discriminant(x) == std::mem::discriminant(y),
        })
}

/// The native menu and the model it shows.
pub struct NativeMenu {
    pub menu: Menu,
    widgets: Vec<Widget>,
    shown: Vec<Item>,
}

impl NativeMenu {
    /// A new native menu for `model`.
    pub fn new(model: &MenuModel) -> NativeMenu {
        let menu = Menu::new();
        let widgets = fill(&menu, &model.items);
        NativeMenu {
            menu,
            widgets,
            shown: model.items.clone(),
        }
    }

    /// Shows `model`: item by item when the shape is unchanged, otherwise by replacing
    /// the items inside the same menu.
    pub fn update(&mut self, model: &MenuModel) {
        if self.shown == model.items {
            return;
        }
        if same_shape(&self.shown, &model.items) {
            for (widget, item) in self.widgets.iter().zip(&model.items) {
                widget.update(item);
            }
        } else {
            for widget in &self.widgets {
                if let Err(e) = self.menu.remove(widget.as_item()) {
                    tracing::warn!(error = %e, "cannot remove a menu item");
                }
            }
            self.widgets = fill(&self.menu, &model.items);
        }
        self.shown = model.items.clone();
    }
}

/// Appends new widgets for `items` to `menu`.
fn fill(menu: &Menu, items: &[Item]) -> Vec<Widget> {
    let widgets: Vec<Widget> = items.iter().map(Widget::new).collect();
    for widget in &widgets {
        if let Err(e) = menu.append(widget.as_item()) {
            tracing::warn!(error = %e, "cannot add a menu item");
        }
    }
    widgets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> Item {
        Item::Label(s.into())
    }

    #[test]
    fn every_action_maps_back_from_its_menu_id() {
        for action in ACTIONS {
            assert_eq!(action_of(&menu_id(action)), Some(action));
        }
        assert_eq!(action_of(&MenuId::new("42")), None);
    }

    #[test]
    fn texts_and_states_change_in_place_but_new_rows_need_a_new_menu() {
        let rows = |n: usize| Item::Submenu {
            label: "Rows".into(),
            items: (0..n).map(|i| label(&format!("t{i}"))).collect(),
        };
        let resync = |enabled| Item::Action {
            id: ActionId::Resync,
            label: "Resync now".into(),
            enabled,
        };
        let a = vec![label("Up to date"), Item::Separator, rows(2), resync(true)];
        let b = vec![label("Syncing…"), Item::Separator, rows(2), resync(false)];
        assert!(same_shape(&a, &b));
        assert!(!same_shape(
            &a,
            &[label("x"), Item::Separator, rows(3), resync(true)]
        ));
        assert!(!same_shape(&a, &b[..3]));
        let quit = Item::Action {
            id: ActionId::Quit,
            label: "Resync now".into(),
            enabled: true,
        };
        assert!(!same_shape(
            &a,
            &[label("x"), Item::Separator, rows(2), quit]
        ));
    }
}
