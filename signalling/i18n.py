"""UI texts in German (the default) and English.

The language is German unless the visitor chose English (``?lang=en``, kept in a
cookie). Domain errors carry German messages; for English pages their stable codes
are looked up here.
"""

from __future__ import annotations

from aiohttp import web

from signalling import cookies

LANGUAGES = ("de", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (German, English)
    "skip_to_content": ("Zum Inhalt springen", "Skip to content"),
    "language_switch": ("English", "Deutsch"),
    "privacy": ("Datenschutz", "Privacy"),
    "imprint": ("Impressum", "Imprint"),
    "staff_login": ("Anmeldung für Mitarbeitende", "Staff login"),
    "book_title": ("Videotermin buchen", "Book a video appointment"),
    "book_intro": (
        "Erledigen Sie Ihr Anliegen per Video – von zu Hause, im Browser, ohne App. "
        "Wählen Sie zuerst Ihr Anliegen.",
        "Take care of your matter by video – from home, in your browser, no app needed. "
        "First choose your service.",
    ),
    "virtual_hours": ("Sprechzeiten der Videotermine", "Video appointment hours"),
    "choose": ("Auswählen", "Choose"),
    "duration": ("Dauer", "Duration"),
    "minutes": ("Minuten", "minutes"),
    "fee": ("Gebühr", "Fee"),
    "fee_sample": ("Beispielwert", "sample value"),
    "free_of_charge": ("gebührenfrei", "free of charge"),
    "id_check": ("mit Identitätsprüfung", "identity check required"),
    "documents": ("Bitte halten Sie bereit", "Please have at hand"),
    "step_day": ("Tag wählen", "Choose a day"),
    "step_slot": ("Uhrzeit wählen", "Choose a time"),
    "step_details": ("Ihre Angaben", "Your details"),
    "no_days": (
        "In diesem Zeitraum ist leider kein Termin frei.",
        "Unfortunately no appointment is free in this period.",
    ),
    "no_slots": ("An diesem Tag ist kein Termin mehr frei.", "No appointment is free on this day."),
    "earlier": ("Frühere Tage", "Earlier days"),
    "later": ("Spätere Tage", "Later days"),
    "back_to_services": ("Zurück zur Auswahl", "Back to the services"),
    "name": ("Vor- und Nachname", "First and last name"),
    "email": ("E-Mail-Adresse", "Email address"),
    "email_hint": (
        "An diese Adresse senden wir Ihren persönlichen Link zum Termin.",
        "We send your personal link to the appointment to this address.",
    ),
    "phone": ("Telefonnummer", "Phone number"),
    "optional": ("optional", "optional"),
    "phone_hint": (
        "Für Rückfragen, falls die Verbindung nicht zustande kommt.",
        "For questions if the connection fails.",
    ),
    "consent": (
        "Ich bin damit einverstanden, dass meine Angaben zur Durchführung des Termins "
        "verarbeitet werden.",
        "I agree that my details are processed to carry out the appointment.",
    ),
    "consent_link": ("Datenschutzhinweise lesen", "Read the privacy notice"),
    "honeypot": ("Bitte dieses Feld leer lassen", "Please leave this field empty"),
    "book_button": ("Termin verbindlich buchen", "Book appointment"),
    "form_errors": ("Bitte prüfen Sie Ihre Angaben", "Please check your details"),
    "booked_title": ("Ihr Termin ist gebucht", "Your appointment is booked"),
    "booked_text": (
        "Wir haben Ihnen eine E-Mail mit Ihrem persönlichen Link zum Termin geschickt. "
        "Bitte prüfen Sie auch den Spam-Ordner.",
        "We have sent you an email with your personal link to the appointment. "
        "Please check your spam folder too.",
    ),
    "reference": ("Vorgangsnummer", "Reference"),
    "service": ("Anliegen", "Service"),
    "when": ("Termin", "Time"),
    "appointment_title": ("Ihr Videotermin", "Your video appointment"),
    "status_title": ("Stand Ihrer Anliegen", "Progress of your requests"),
    "status_link": ("Stand Ihrer Anliegen ansehen", "See the progress of your requests"),
    "status_none": (
        "Zu diesem Termin gibt es noch keine Vorgänge. Sie entstehen im Videogespräch.",
        "There are no requests for this appointment yet. They are opened in the video call.",
    ),
    "status_case": ("Vorgang {reference}", "Request {reference}"),
    "status_fee": ("Gebühr: {amount}", "Fee: {amount}"),
    "status_open_amount": ("Noch offen: {amount}", "Still due: {amount}"),
    "status_quantity": ("Anzahl: {quantity}", "Quantity: {quantity}"),
    "case_open": ("Vorgang eröffnet", "Request opened"),
    "case_verified": ("Identität bestätigt", "Identity confirmed"),
    "case_payment_pending": ("Zahlung angefordert", "Payment requested"),
    "case_paid": ("Bezahlt", "Paid"),
    "case_waived": ("Gebührenfrei gestellt", "Fee waived"),
    "case_in_fulfilment": ("In Bearbeitung", "Being processed"),
    "case_posted": ("Per Post an Sie versandt", "Posted to you"),
    "case_forwarded": (
        "An das Bundesamt für Justiz übermittelt – das Dokument kommt von dort per Post",
        "Sent to the Federal Office of Justice – the document comes from there by post",
    ),
    "case_closed": ("Abgeschlossen", "Completed"),
    "case_cancelled": ("Storniert", "Cancelled"),
    "case_failed": ("Nicht möglich", "Not possible"),
    "status_pay_paypal": ("Mit PayPal bezahlen", "Pay with PayPal"),
    "status_invoice": ("Rechnung herunterladen (PDF)", "Download the invoice (PDF)"),
    "status_invoice_line": (
        "Rechnung {number} vom {issued}, zahlbar bis {due}",
        "Invoice {number} of {issued}, due {due}",
    ),
    "status_girocode": (
        "Bezahlen mit Code: mit Ihrer Banking-App scannen",
        "Pay by code: scan with your banking app",
    ),
    "status_girocode_alt": (
        "GiroCode für die Überweisung von {amount}",
        "GiroCode for the transfer of {amount}",
    ),
    "status_reference": ("Verwendungszweck: {reference}", "Payment reference: {reference}"),
    "status_paypal_refused": (
        "PayPal hat die Zahlung nicht angenommen; es wurde nichts abgebucht. Bitte versuchen "
        "Sie es noch einmal oder wählen Sie mit uns eine andere Zahlungsart.",
        "PayPal did not accept the payment; nothing was charged. Please try again or choose "
        "another way to pay with us.",
    ),
    "status_paypal_cancelled": (
        "Die Zahlung mit PayPal wurde abgebrochen. Sie können es noch einmal versuchen.",
        "The PayPal payment was cancelled. You can try again.",
    ),
    "enter_waiting_room": ("Warteraum betreten", "Enter the waiting room"),
    "waiting_room_opens": (
        "Der Warteraum öffnet {minutes} Minuten vor Ihrem Termin, am {when}.",
        "The waiting room opens {minutes} minutes before your appointment, on {when}.",
    ),
    "waiting_room_closed": (
        "Die Zeit zum Betreten des Warteraums ist vorbei.",
        "The time to enter the waiting room is over.",
    ),
    "reschedule": ("Termin verschieben", "Reschedule"),
    "reschedule_button": ("Auf diese Uhrzeit verschieben", "Move to this time"),
    "rescheduled": (
        "Ihr Termin ist verschoben. Sie erhalten eine neue E-Mail; der alte Link gilt nicht mehr.",
        "Your appointment has been moved. You will get a new email; the old link no longer works.",
    ),
    "cancel": ("Termin absagen", "Cancel appointment"),
    "cancel_confirm": (
        "Möchten Sie Ihren Termin wirklich absagen?",
        "Do you really want to cancel your appointment?",
    ),
    "cancel_button": ("Ja, Termin absagen", "Yes, cancel it"),
    "cancelled_title": ("Ihr Termin ist abgesagt", "Your appointment is cancelled"),
    "cancelled_text": (
        "Der Termin ist wieder frei. Sie erhalten eine Bestätigung per E-Mail.",
        "The slot is free again. You will receive a confirmation by email.",
    ),
    "book_again": ("Neuen Termin buchen", "Book a new appointment"),
    "delete_data": ("Meine Daten jetzt löschen", "Delete my data now"),
    "delete_confirm": (
        "Wir löschen Ihren Namen, Ihre E-Mail-Adresse und Telefonnummer sofort. "
        "Liegt der Termin noch in der Zukunft, wird er abgesagt.",
        "We delete your name, email address and phone number at once. "
        "If the appointment is still ahead, it is cancelled.",
    ),
    "delete_button": ("Ja, Daten löschen", "Yes, delete my data"),
    "deleted_title": ("Ihre Daten sind gelöscht", "Your data has been deleted"),
    "deleted_text": (
        "Ihr Link zum Termin funktioniert nicht mehr.",
        "Your link to the appointment no longer works.",
    ),
    "back": ("Zurück", "Back"),
    "link_invalid_title": ("Dieser Link funktioniert nicht", "This link does not work"),
    "link_invalid_text": (
        "Der Link ist ungültig, abgelaufen oder der Termin wurde abgesagt. Nutzen Sie den "
        "Link aus Ihrer neuesten E-Mail oder buchen Sie einen neuen Termin.",
        "The link is invalid or expired, or the appointment was cancelled. Use the link "
        "from your most recent email or book a new appointment.",
    ),
    "error_title": ("Das hat nicht geklappt", "That did not work"),
    "csrf_failed": (
        "Die Sicherheitsprüfung des Formulars ist fehlgeschlagen. Bitte laden Sie die Seite "
        "neu und versuchen Sie es noch einmal.",
        "The form's security check failed. Please reload the page and try again.",
    ),
    "rate_limited": (
        "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einige Minuten.",
        "Too many requests in a short time. Please wait a few minutes.",
    ),
    "not_found": ("Diese Seite gibt es nicht.", "This page does not exist."),
    "server_error": (
        "Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.",
        "A technical error occurred. Please try again later.",
    ),
    "slot_taken": (
        "Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie einen anderen.",
        "This slot has just been taken. Please choose another one.",
    ),
    "slot_unavailable": (
        "Zu diesem Zeitpunkt kann kein Termin gebucht werden.",
        "No appointment can be booked at this time.",
    ),
    "appointment_closed": (
        "Dieser Termin kann nicht mehr geändert werden.",
        "This appointment can no longer be changed.",
    ),
    "unavailable": (
        "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal.",
        "The service cannot be reached just now. Please try again later.",
    ),
    "appointment_in_progress": (
        "Ihr Gespräch läuft gerade. Bitte beenden Sie es zuerst; danach können Sie den "
        "Termin absagen, verschieben oder Ihre Daten löschen.",
        "Your call is in progress. Please end it first; then you can cancel or move the "
        "appointment or delete your data.",
    ),
    "waiting_room_title": ("Warteraum", "Waiting room"),
    # The citizen's waiting room and call (templates/waiting_room.html, js/citizen.js).
    "js_required": (
        "Für den Videotermin braucht Ihr Browser JavaScript. Bitte schalten Sie es ein.",
        "The video appointment needs JavaScript in your browser. Please turn it on.",
    ),
    "device_check_title": ("Kamera und Mikrofon prüfen", "Check camera and microphone"),
    "device_check_intro": (
        "Bevor Sie den Warteraum betreten, prüfen wir Kamera und Mikrofon. Ihr Browser "
        "fragt gleich, ob diese Seite sie benutzen darf: Bitte erlauben Sie das.",
        "Before you enter the waiting room, we check your camera and microphone. Your "
        "browser will ask whether this page may use them: please allow it.",
    ),
    "device_check_start": ("Kamera und Mikrofon starten", "Start camera and microphone"),
    "device_check_running": (
        "Kamera und Mikrofon werden gestartet …",
        "Starting camera and microphone …",
    ),
    "device_check_ok": (
        "Kamera und Mikrofon funktionieren. Sie können jetzt in den Warteraum.",
        "Camera and microphone work. You can now enter the waiting room.",
    ),
    "own_video": ("Ihr eigenes Kamerabild", "Your own camera picture"),
    "mic_level": ("Mikrofonpegel", "Microphone level"),
    "mic_level_hint": (
        "Sagen Sie ein paar Worte: Der Balken sollte sich bewegen.",
        "Say a few words: the bar should move.",
    ),
    "continue_to_waiting_room": ("Weiter zum Warteraum", "Continue to the waiting room"),
    "problem_denied_title": (
        "Kamera und Mikrofon sind blockiert",
        "Camera and microphone are blocked",
    ),
    "problem_denied": (
        "Ihr Browser hat den Zugriff nicht erlaubt. Geben Sie ihn frei, wie unten "
        "beschrieben, und starten Sie dann Kamera und Mikrofon erneut.",
        "Your browser did not allow access. Allow it as described below, then start "
        "camera and microphone again.",
    ),
    "problem_notfound_title": (
        "Keine Kamera und kein Mikrofon gefunden",
        "No camera or microphone found",
    ),
    "problem_notfound": (
        "Schließen Sie eine Kamera oder ein Headset an, oder nutzen Sie ein Smartphone "
        "oder Tablet. Starten Sie dann Kamera und Mikrofon erneut.",
        "Connect a camera or a headset, or use a smartphone or tablet. Then start "
        "camera and microphone again.",
    ),
    "problem_busy_title": ("Kamera oder Mikrofon ist belegt", "Camera or microphone is in use"),
    "problem_busy": (
        "Ein anderes Programm benutzt sie gerade, etwa eine andere Videokonferenz. "
        "Schließen Sie es und versuchen Sie es erneut.",
        "Another program is using them, for example another video conference. Close "
        "it and try again.",
    ),
    "problem_unsupported_title": (
        "Ihr Browser unterstützt keine Videotermine",
        "Your browser does not support video appointments",
    ),
    "problem_unsupported": (
        "Bitte öffnen Sie den Link in einem aktuellen Chrome, Edge, Firefox, Safari "
        "oder Samsung Internet.",
        "Please open the link in a current Chrome, Edge, Firefox, Safari or Samsung Internet.",
    ),
    "problem_no_camera": (
        "Keine Kamera gefunden: Die Sachbearbeitung kann Sie nicht sehen. Für eine "
        "Identitätsprüfung brauchen Sie eine Kamera.",
        "No camera found: the clerk cannot see you. An identity check needs a camera.",
    ),
    "problem_no_microphone": (
        "Kein Mikrofon gefunden: Sie hören die Sachbearbeitung und können ihr im Chat schreiben.",
        "No microphone found: you can hear the clerk and write to them in the chat.",
    ),
    "help_title": ("So erlauben Sie Kamera und Mikrofon", "How to allow camera and microphone"),
    "help_chrome": ("Chrome und Edge am Computer", "Chrome and Edge on a computer"),
    "help_chrome_text": (
        "Klicken Sie in der Adresszeile auf das Symbol links neben der Adresse, stellen "
        "Sie Kamera und Mikrofon auf „Zulassen“ und laden Sie die Seite neu.",
        "Click the icon left of the address in the address bar, set camera and "
        "microphone to “Allow” and reload the page.",
    ),
    "help_firefox": ("Firefox", "Firefox"),
    "help_firefox_text": (
        "Klicken Sie in der Adresszeile auf das durchgestrichene Kamera- oder "
        "Mikrofonsymbol, heben Sie die Blockierung auf und laden Sie die Seite neu.",
        "Click the crossed-out camera or microphone icon in the address bar, remove the "
        "block and reload the page.",
    ),
    "help_safari_mac": ("Safari auf dem Mac", "Safari on a Mac"),
    "help_safari_mac_text": (
        "Wählen Sie im Menü „Safari“ > „Einstellungen“ > „Websites“, stellen Sie "
        "Kamera und Mikrofon für diese Seite auf „Erlauben“ und laden Sie sie neu. "
        "Prüfen Sie auch Systemeinstellungen > Datenschutz & Sicherheit > Kamera und Mikrofon.",
        "Choose “Safari” > “Settings” > “Websites”, set camera and microphone for this "
        "site to “Allow” and reload it. Also check System Settings > Privacy & Security "
        "> Camera and Microphone.",
    ),
    "help_safari_ios": ("Safari auf iPhone und iPad", "Safari on iPhone and iPad"),
    "help_safari_ios_text": (
        "Tippen Sie in der Adresszeile auf „aA“ > „Website-Einstellungen“ und stellen "
        "Sie Kamera und Mikrofon auf „Erlauben“. Laden Sie dann die Seite neu.",
        "Tap “aA” in the address bar > “Website Settings” and set camera and microphone "
        "to “Allow”. Then reload the page.",
    ),
    "help_android": (
        "Samsung Internet und Chrome auf Android",
        "Samsung Internet and Chrome on Android",
    ),
    "help_android_text": (
        "Tippen Sie auf das Symbol vor der Adresse > „Berechtigungen“ und erlauben Sie "
        "Kamera und Mikrofon. Ist das gesperrt: Einstellungen des Telefons > Apps > Ihr "
        "Browser > Berechtigungen. Laden Sie dann die Seite neu.",
        "Tap the icon before the address > “Permissions” and allow camera and "
        "microphone. If that is locked: phone settings > Apps > your browser > "
        "Permissions. Then reload the page.",
    ),
    "queue_joining": ("Sie werden im Warteraum angemeldet …", "Entering the waiting room …"),
    "queue_position": (
        "Sie sind an Position {position} der Warteschlange.",
        "You are number {position} in the queue.",
    ),
    "queue_estimate": (
        "Geschätzte Wartezeit: etwa {minutes} Minuten.",
        "Estimated wait: about {minutes} minutes.",
    ),
    "queue_next_up": ("Sie sind als Nächstes an der Reihe.", "You are next."),
    "queue_no_clerk": (
        "Gerade ist niemand von der Sachbearbeitung im Dienst. Bleiben Sie bitte auf "
        "dieser Seite: Wir rufen Sie auf.",
        "Nobody from the office is on duty right now. Please stay on this page: we will call you.",
    ),
    "waiting_keep_open": (
        "Lassen Sie diese Seite geöffnet. Wenn Sie an der Reihe sind, ertönt ein Signal "
        "und das Gespräch beginnt.",
        "Keep this page open. When it is your turn, a sound plays and the call starts.",
    ),
    "notify_button": ("Benachrichtigung erlauben", "Allow notifications"),
    "notify_default": (
        "Mit einer Benachrichtigung merken Sie den Aufruf auch in einem anderen Fenster.",
        "A notification tells you about the call even in another window.",
    ),
    "notify_granted": ("Benachrichtigungen sind eingeschaltet.", "Notifications are on."),
    "notify_denied": (
        "Benachrichtigungen sind blockiert. Lassen Sie diese Seite sichtbar.",
        "Notifications are blocked. Keep this page visible.",
    ),
    "notify_unsupported": (
        "Ihr Browser zeigt keine Benachrichtigungen. Lassen Sie diese Seite sichtbar.",
        "Your browser shows no notifications. Keep this page visible.",
    ),
    "leave_waiting_room": ("Warteraum verlassen", "Leave the waiting room"),
    "returned_requeued_by_clerk": (
        "Die Sachbearbeitung hat Sie in den Warteraum zurückgesetzt. Sie sind als "
        "Nächstes an der Reihe.",
        "The clerk has sent you back to the waiting room. You are next.",
    ),
    "returned_clerk_lost": (
        "Die Verbindung zur Sachbearbeitung ist abgebrochen. Sie sind als Nächstes an der Reihe.",
        "The connection to the clerk was lost. You are next.",
    ),
    "error_checkin_not_open": (
        "Der Warteraum öffnet erst kurz vor Ihrem Termin. Bitte kommen Sie dann wieder.",
        "The waiting room opens shortly before your appointment. Please come back then.",
    ),
    "error_generic": (
        "Das hat nicht geklappt. Bitte laden Sie die Seite neu.",
        "That did not work. Please reload the page.",
    ),
    "connection_lost": (
        "Die Verbindung zum Server ist unterbrochen und wird wiederhergestellt …",
        "The connection to the server is interrupted and being restored …",
    ),
    "connection_refused": (
        "Bitte öffnen Sie den Link aus Ihrer E-Mail noch einmal.",
        "Please open the link from your email again.",
    ),
    "called_title": ("Sie sind an der Reihe", "It is your turn"),
    "called_body": ("{clerk} ist jetzt für Sie da.", "{clerk} is ready for you now."),
    "call_title": ("Videogespräch", "Video call"),
    "call_with": ("Ihre Sachbearbeitung: {clerk}", "Your clerk: {clerk}"),
    "call_connecting": ("Verbindung wird aufgebaut …", "Connecting …"),
    "call_connected": ("Verbunden.", "Connected."),
    "call_peer_left": (
        "Verbindung zur Sachbearbeitung unterbrochen – bitte warten",
        "Connection to the clerk interrupted – please wait",
    ),
    "remote_video": ("Video der Sachbearbeitung", "The clerk's video"),
    "microphone_off": ("Mikrofon aus", "Microphone off"),
    "camera_off": ("Kamera aus", "Camera off"),
    "hang_up": ("Gespräch verlassen", "Leave the call"),
    "hang_up_confirm": (
        "Möchten Sie das Gespräch wirklich verlassen? Ihr Termin ist dann beendet.",
        "Do you really want to leave the call? Your appointment then ends.",
    ),
    "play_blocked": ("Bild und Ton starten", "Start picture and sound"),
    "chat_title": ("Nachrichten", "Messages"),
    "chat_label": ("Ihre Nachricht", "Your message"),
    "chat_send": ("Senden", "Send"),
    "chat_me": ("Sie", "You"),
    "chat_clerk": ("Sachbearbeitung", "Clerk"),
    "chat_failed": ("Die Nachricht wurde nicht gesendet.", "The message was not sent."),
    "ended_title": ("Ihr Termin ist beendet", "Your appointment has ended"),
    "ended_thanks": (
        "Vielen Dank, dass Sie das virtuelle Bürgerbüro genutzt haben.",
        "Thank you for using the virtual citizens' office.",
    ),
    "next_steps": ("Wie es weitergeht", "What happens next"),
    "delivery_town": (
        "Das Dokument schickt Ihnen die Stadt per Post.",
        "The town will send you the document by post.",
    ),
    "delivery_bzr": (
        "Das Bundesamt für Justiz schickt Ihnen das Dokument per Post.",
        "The Federal Office of Justice will send you the document by post.",
    ),
    "back_home": ("Zur Startseite", "To the home page"),
    # The waiting room's page when its appointment closes (js/citizen.js).
    "closed_title": ("Dieser Termin ist nicht mehr aktiv", "This appointment is no longer active"),
    "closed_cancelled": (
        "Ihr Termin wurde abgesagt und Ihr Platz im Warteraum freigegeben. Sie erhalten eine "
        "Bestätigung per E-Mail.",
        "Your appointment was cancelled and your place in the waiting room released. You "
        "will receive a confirmation by email.",
    ),
    "closed_rescheduled": (
        "Ihr Termin wurde verschoben. Den neuen Link finden Sie in der E-Mail, die wir "
        "Ihnen gerade geschickt haben; kommen Sie zur neuen Zeit wieder in den Warteraum.",
        "Your appointment was moved. The new link is in the email we have just sent you; "
        "please come back to the waiting room at the new time.",
    ),
    "closed_data_deleted": (
        "Ihre Daten wurden gelöscht und der Termin abgesagt.",
        "Your data was deleted and the appointment cancelled.",
    ),
    "closed_no_show": (
        "Der Termin ist verfallen, weil niemand rechtzeitig in den Warteraum kam. Sie "
        "können einen neuen Termin buchen.",
        "The appointment has lapsed because nobody came to the waiting room in time. You "
        "can book a new appointment.",
    ),
    # Identity verification during the call (verification.js)
    "verification_title": ("Identitätsprüfung", "Identity check"),
    "verification_consent_title": (
        "Einwilligung zur Aufnahme Ihres Ausweises",
        "Consent to copies of your ID document",
    ),
    "verification_consent_document": ("Dokument:", "Document:"),
    "verification_consent_text": (
        "Ihre Sachbearbeitung möchte Ihre Identität prüfen. Dafür nimmt sie über Ihre "
        "Kamera Kopien Ihres Dokuments auf. Jede Aufnahme wird als Kopie gekennzeichnet, "
        "verschlüsselt gespeichert und nach spätestens 7 Tagen gelöscht.",
        "Your clerk would like to check your identity and will take copies of your "
        "document through your camera. Every capture is marked as a copy, stored "
        "encrypted and deleted after at most 7 days.",
    ),
    "verification_consent_accept": ("Einverstanden", "I agree"),
    "verification_guidance_ok": (
        "Gut so – bitte halten Sie den Ausweis ruhig.",
        "Good – please hold the document still.",
    ),
    "verification_prompt_front": (
        "Bitte halten Sie die Vorderseite Ihres Ausweises ruhig in die Kamera.",
        "Please hold the front of your document still in front of the camera.",
    ),
    "verification_prompt_back": (
        "Bitte drehen Sie den Ausweis um und halten Sie die Rückseite in die Kamera.",
        "Please turn the document over and hold the back up to the camera.",
    ),
    "verification_prompt_tilt_a": (
        "Bitte kippen Sie den Ausweis langsam zur einen Seite.",
        "Please slowly tilt the document to one side.",
    ),
    "verification_prompt_tilt_b": (
        "Und jetzt bitte langsam zur anderen Seite kippen.",
        "Now please slowly tilt it to the other side.",
    ),
    "verification_prompt_face": (
        "Bitte legen Sie den Ausweis beiseite und schauen Sie direkt in die Kamera.",
        "Please put the document aside and look straight into the camera.",
    ),
    "verification_prompt_taken": (
        "Danke, die Aufnahme ist gemacht.",
        "Thank you, the picture has been taken.",
    ),
    "verification_capture_hint": (
        "Bitte halten Sie Ihren Ausweis in die Kamera.",
        "Please hold your ID document up to the camera.",
    ),
    "verification_consented": (
        "Danke. Die Kamera wird für die Aufnahme verbunden …",
        "Thank you. The camera is being connected for the capture …",
    ),
    "verification_capture_ready": (
        "Die Kamera ist für die Aufnahme verbunden.",
        "The camera is connected for the capture.",
    ),
    "verification_capture_failed": (
        "Die Kamera ließ sich für die Aufnahme nicht verbinden.",
        "The camera could not be connected for the capture.",
    ),
    "verification_still_sending": ("Foto wird übertragen …", "Sending the photo …"),
    "verification_still_sent": ("Foto übertragen.", "Photo sent."),
    "verification_still_failed": (
        "Das Foto konnte nicht übertragen werden.",
        "The photo could not be sent.",
    ),
    "verification_code_label": (
        "Bestätigungscode aus Ihrer E-Mail (6 Ziffern)",
        "Confirmation code from your email (6 digits)",
    ),
    "verification_code_submit": ("Code prüfen", "Check code"),
    "verification_code_format": (
        "Bitte geben Sie die 6 Ziffern aus der E-Mail ein.",
        "Please enter the 6 digits from the email.",
    ),
    "verification_code_passed": ("Der Code ist richtig.", "The code is correct."),
    "verification_code_wrong": (
        "Der Code ist nicht richtig. Bitte versuchen Sie es noch einmal.",
        "The code is not correct. Please try again.",
    ),
    "verification_outcome_verified": (
        "Ihre Identität ist verifiziert.",
        "Your identity is verified.",
    ),
    "verification_outcome_failed": (
        "Ihre Identität konnte nicht bestätigt werden.",
        "Your identity could not be confirmed.",
    ),
    "verification_document_id_card": ("Personalausweis", "Identity card"),
    "verification_document_passport": ("Reisepass", "Passport"),
}


def language(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(cookies.LANGUAGE)
    return chosen if chosen in LANGUAGES else "de"


def translate(key: str, lang: str, **values: object) -> str:
    german, english = TEXTS[key]
    text = english if lang == "en" else german
    return text.format(**values) if values else text


def error_text(code: str, german_message: str, lang: str) -> str:
    """A domain error's message in the page language."""
    if lang == "en" and code in TEXTS:
        return TEXTS[code][1]
    return german_message
