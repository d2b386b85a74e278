//! Modal dialogs of the tray (the *Reset…* confirmation, *About*): GTK on Linux, the
//! native alert (through `rfd`) on macOS. Called on the UI thread; each blocks until
//! answered.

/// Asks `title` / `text` with a Cancel button (the default) and `confirm`; `true` when
/// the user chose `confirm`.
pub fn confirm(title: &str, text: &str, confirm: &str) -> bool {
    imp::confirm(title, text, confirm)
}

/// Shows `title` / `text` with an OK button.
pub fn inform(title: &str, text: &str) {
    imp::inform(title, text)
}

#[cfg(target_os = "linux")]
mod imp {
    use gtk::prelude::*;

    fn dialog(kind: gtk::MessageType, title: &str, text: &str) -> gtk::MessageDialog {
        let dialog = gtk::MessageDialog::new(
            None::<&gtk::Window>,
            gtk::DialogFlags::MODAL,
            kind,
            gtk::ButtonsType::None,
            title,
        );
        dialog.set_title(title);
        dialog.set_secondary_text(Some(text));
        dialog.set_keep_above(true);
        dialog.set_position(gtk::WindowPosition::Center);
        dialog
    }

    pub fn confirm(title: &str, text: &str, confirm: &str) -> bool {
        let dialog = dialog(gtk::MessageType::Warning, title, text);
        dialog.add_button("Cancel", gtk::ResponseType::Cancel);
        dialog.add_button(confirm, gtk::ResponseType::Accept);
        dialog.set_default_response(gtk::ResponseType::Cancel);
        let answer = dialog.run();
        dialog.close();
        answer == gtk::ResponseType::Accept
    }

    pub fn inform(title: &str, text: &str) {
        let dialog = dialog(gtk::MessageType::Info, title, text);
        dialog.add_button("OK", gtk::ResponseType::Ok);
        dialog.run();
        dialog.close();
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use rfd::{MessageButtons, MessageDialog, MessageDialogResult, MessageLevel};

    pub fn confirm(title: &str, text: &str, confirm: &str) -> bool {
        let answer = MessageDialog::new()
            .set_level(MessageLevel::Warning)
            .set_title(title)
            .set_description(text)
            .set_buttons(MessageButtons::OkCancelCustom(
                confirm.to_string(),
                "Cancel".to_string(),
            ))
            .show();
        matches!(answer, MessageDialogResult::Ok)
            || matches!(answer, MessageDialogResult::Custom(ref c) if c == confirm)
    }

    pub fn inform(title: &str, text: &str) {
        MessageDialog::new()
            .set_level(MessageLevel::Info)
            .set_title(title)
            .set_description(text)
            .set_buttons(MessageButtons::Ok)
            .show();
    }
}
