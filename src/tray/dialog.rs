//! The tray's dialogs (the *Reset…* confirmation, *About*, *Show details…*, a failed
//! action): GTK on Linux, the system alert (through `rfd`'s async dialog) on macOS.
//!
//! None of them blocks the UI thread: [`show`] returns at once and the answer arrives
//! later through the callback, so status updates, *Quit* and SIGTERM keep working while a
//! dialog is open. On Linux the dialog is a non-modal GTK window answered by a
//! `response` signal on the UI thread; on macOS `rfd` shows a parentless alert from a
//! thread of its own (`CFUserNotificationDisplayAlert`), whose future is awaited on a
//! helper thread here.

/// A dialog to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub title: String,
    pub text: String,
    /// `Some(label)`: a Cancel button (the default) and `label`, which confirms; `None`:
    /// an OK button only.
    pub confirm: Option<String>,
}

impl Spec {
    /// A dialog that only informs.
    pub fn inform(title: impl Into<String>, text: impl Into<String>) -> Spec {
        Spec {
            title: title.into(),
            text: text.into(),
            confirm: None,
        }
    }

    /// A dialog that asks, with `confirm` beside Cancel.
    pub fn confirm(
        title: impl Into<String>,
        text: impl Into<String>,
        confirm: impl Into<String>,
    ) -> Spec {
        Spec {
            title: title.into(),
            text: text.into(),
            confirm: Some(confirm.into()),
        }
    }
}

/// Shows `spec` and returns at once; `answer` is called once, with `true` when the user
/// chose the confirming button (never for an inform dialog), `false` for anything else
/// (Cancel, OK, Escape, the window closed). Call on the UI thread.
pub fn show(spec: Spec, answer: impl FnOnce(bool) + Send + 'static) {
    imp::show(spec, answer)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::cell::Cell;

    use gtk::prelude::*;

    use super::Spec;

    pub fn show(spec: Spec, answer: impl FnOnce(bool) + 'static) {
        let kind = match spec.confirm {
            Some(_) => gtk::MessageType::Warning,
            None => gtk::MessageType::Info,
        };
        // Not modal: a modal dialog would hold every click of the app, the menu's too.
        let dialog = gtk::MessageDialog::new(
            None::<&gtk::Window>,
            gtk::DialogFlags::empty(),
            kind,
            gtk::ButtonsType::None,
            &spec.title,
        );
        dialog.set_title(&spec.title);
        dialog.set_secondary_text(Some(&spec.text));
        dialog.set_keep_above(true);
        dialog.set_position(gtk::WindowPosition::Center);
        match &spec.confirm {
            Some(confirm) => {
                dialog.add_button("Cancel", gtk::ResponseType::Cancel);
                dialog.add_button(confirm, gtk::ResponseType::Accept);
                dialog.set_default_response(gtk::ResponseType::Cancel);
            }
            None => {
                dialog.add_button("OK", gtk::ResponseType::Ok);
                dialog.set_default_response(gtk::ResponseType::Ok);
            }
        }
        let answer = Cell::new(Some(answer));
        dialog.connect_response(move |dialog, response| {
            dialog.close();
            if let Some(answer) = answer.take() {
                answer(response == gtk::ResponseType::Accept);
            }
        });
        dialog.show_all();
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use rfd::{AsyncMessageDialog, MessageButtons, MessageDialogResult, MessageLevel};

    use super::Spec;

    pub fn show(spec: Spec, answer: impl FnOnce(bool) + Send + 'static) {
        let (level, buttons) = match &spec.confirm {
            Some(confirm) => (
                MessageLevel::Warning,
                MessageButtons::OkCancelCustom(confirm.clone(), "Cancel".into()),
            ),
            None => (MessageLevel::Info, MessageButtons::Ok),
        };
        // Without a parent window rfd shows the alert from a thread of its own; only its
        // answer is awaited here.
        let shown = AsyncMessageDialog::new()
            .set_level(level)
            .set_title(&spec.title)
            .set_description(&spec.text)
            .set_buttons(buttons)
            .show();
        let waiter = std::thread::Builder::new()
            .name("dialog".into())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread().build() {
                    Ok(runtime) => runtime.block_on(shown),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot wait for the dialog's answer");
                        MessageDialogResult::Cancel
                    }
                };
                let confirmed = match (&result, &spec.confirm) {
                    (MessageDialogResult::Ok, Some(_)) => true,
                    (MessageDialogResult::Custom(c), Some(confirm)) => c == confirm,
                    _ => false,
                };
                answer(confirmed);
            });
        if let Err(e) = waiter {
            tracing::warn!(error = %e, "cannot start the dialog's thread");
        }
    }
}
