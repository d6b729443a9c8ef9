// The widget's built-in texts in every language it speaks, and the choice among them.
//
// Every language is a `Strings`, so a key missing from one catalogue does not compile. The
// site's own texts (its name, greeting and away message) are not here: they are shown as the
// site wrote them. German and French address the visitor formally (Sie, vous); Spanish and
// Portuguese avoid addressing the visitor where they can (neutral between Spain and Latin
// America, Portugal and Brazil; where the two Portuguese differ, Brazil's gerunds are used).
import type { UploadTexts } from '../shared/uploads';

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'pt'] as const;
export type Lang = (typeof LANGUAGES)[number];

/** When the team is back, in pieces for a catalogue to phrase (see `backWhen` in office-hours.ts). */
export type When = {
  /** today, tomorrow, one of the next 5 days (by name), or later (by date). */
  kind: 'today' | 'tomorrow' | 'weekday' | 'date';
  /** The time of day, formatted for the language (`9:00`, `9:00 AM`). */
  time: string;
  /** The hour, 0..23 (for "a la 1:00" rather than "a las 1:00"). */
  hour: number;
  /** The day's name (`Monday`) for `weekday`, the date (`December 14`) for `date`. */
  day: string;
  /** Day of the week, 0 = Sunday (for the article: "na segunda", "no sábado"). */
  weekday: number;
};

export type Strings = UploadTexts & {
  // launcher and header
  openChat: string;
  closeChat: string;
  openChatUnread: (n: number) => string;
  minimize: string;
  /** The title when the site has no name. */
  title: string;
  statusUnavailable: string;
  statusConnecting: string;
  statusOnline: string;
  statusAway: string;
  /** Outside the site's office hours. */
  statusClosed: string;
  // the conversation
  conversation: string;
  loadingEarlier: string;
  unavailable: string;
  greeting: string;
  awayMessage: string;
  /** `when` is `when(...)` below: "We're back tomorrow at 9:00." */
  back: (when: string) => string;
  when: (w: When) => string;
  ended: string;
  newMessages: string;
  offline: string;
  reconnecting: string;
  /** An agent is typing; `name` is empty when the server gave none. */
  typing: (name: string) => string;
  /** An agent's message without a name. */
  agent: string;
  sending: string;
  notSent: string;
  retry: string;
  sent: string;
  read: string;
  // the pre-chat form
  prechatLead: string;
  fieldName: string;
  fieldEmail: string;
  fieldPhone: string;
  startChat: string;
  errRequired: string;
  errEmail: string;
  errPhone: string;
  errUnreachable: string;
  /** The server refused the details (its own message is English). */
  errRefused: string;
  // the composer
  messageLabel: string;
  placeholder: string;
  send: string;
  // files (the refusals' texts are `UploadTexts`)
  attach: string;
  /** Removes a file from the message being written. */
  remove: string;
  /** Sizes' units, smallest first, space-separated: `B KB MB GB`. */
  units: string;
  /** Before the brand's name: "Powered by Parlor". */
  poweredBy: string;
  // the transcript by e-mail (a text button at the end of the conversation)
  transcriptOffer: string;
  /** The address field's label, when the visitor gave none yet. */
  transcriptEmail: string;
  transcriptSend: string;
  /** `to`: the visitor's address, as they typed it. */
  transcriptSent: (to: string) => string;
  /** Past the number of transcripts a conversation may have in an hour. */
  transcriptLater: string;
  transcriptFailed: string;
  /** The server refused the address. */
  transcriptBadEmail: string;
};

const en: Strings = {
  openChat: 'Open chat',
  closeChat: 'Close chat',
  openChatUnread: (n) => `Open chat, ${n} unread`,
  minimize: 'Minimize chat',
  title: 'Chat with us',
  statusUnavailable: 'Unavailable',
  statusConnecting: 'Connecting…',
  statusOnline: 'Online · we reply in a few minutes',
  statusAway: 'Away · we’ll reply here soon',
  statusClosed: 'Away · outside our office hours',
  conversation: 'Conversation',
  loadingEarlier: 'Loading earlier messages…',
  unavailable: 'Chat is not available on this site.',
  greeting: 'Hi there! Got a question? Send us a message and we’ll help you out.',
  awayMessage: 'No one is online right now — leave a message and we’ll reply here as soon as we’re back.',
  back: (when) => `We’re back ${when}.`,
  when: (w) =>
    w.kind === 'today'
      ? `today at ${w.time}`
      : w.kind === 'tomorrow'
        ? `tomorrow at ${w.time}`
        : w.kind === 'weekday'
          ? `${w.day} at ${w.time}`
          : `on ${w.day} at ${w.time}`,
  ended: 'This chat has ended. Write below if you need anything else — we’ll pick it up again.',
  newMessages: 'New messages',
  offline: 'You’re offline. Messages will be sent when you’re back online.',
  reconnecting: 'Connection lost. Reconnecting…',
  typing: (name) => `${name || 'Support'} is typing…`,
  agent: 'Support',
  sending: 'Sending…',
  notSent: 'Not sent',
  retry: 'Retry',
  sent: 'Sent',
  read: 'Read',
  prechatLead: 'Before we start, tell us how we can reach you in case you leave.',
  fieldName: 'Your name',
  fieldEmail: 'E-mail',
  fieldPhone: 'Phone',
  startChat: 'Start chat',
  errRequired: 'Please fill in the fields marked *.',
  errEmail: 'Please enter a valid e-mail address.',
  errPhone: 'Please enter a valid phone number.',
  errUnreachable: 'Could not reach the server. Please try again.',
  errRefused: 'Please check your details and try again.',
  messageLabel: 'Type your message',
  placeholder: 'Write a message…',
  send: 'Send message',
  attach: 'Attach a file',
  remove: 'Remove',
  units: 'B KB MB GB',
  fileTooLarge: (limit) => (limit ? `This file is too large: the limit is ${limit}.` : 'This file is too large.'),
  fileType: 'This type of file can’t be sent.',
  fileEmpty: 'This file is empty.',
  fileTooMany: (n) => `At most ${n} files per message.`,
  fileRateLimited: 'Too many files at once. Try again in a minute.',
  fileFailed: 'Upload failed.',
  poweredBy: 'Powered by',
  transcriptOffer: 'E-mail me this conversation',
  transcriptEmail: 'Your e-mail address',
  transcriptSend: 'Send',
  transcriptSent: (to) => `Sent to ${to}`,
  transcriptLater: 'You can ask again later.',
  transcriptFailed: 'The e-mail could not be sent. Please try again.',
  transcriptBadEmail: 'Please check your e-mail address.',
};

const de: Strings = {
  openChat: 'Chat öffnen',
  closeChat: 'Chat schließen',
  openChatUnread: (n) => `Chat öffnen, ${n} ungelesen`,
  minimize: 'Chat minimieren',
  title: 'Schreiben Sie uns',
  statusUnavailable: 'Nicht verfügbar',
  statusConnecting: 'Verbindung wird hergestellt…',
  statusOnline: 'Online · wir antworten in wenigen Minuten',
  statusAway: 'Abwesend · wir antworten bald hier',
  statusClosed: 'Abwesend · außerhalb unserer Geschäftszeiten',
  conversation: 'Unterhaltung',
  loadingEarlier: 'Ältere Nachrichten werden geladen…',
  unavailable: 'Der Chat ist auf dieser Website nicht verfügbar.',
  greeting: 'Hallo! Haben Sie eine Frage? Schreiben Sie uns – wir helfen Ihnen gern weiter.',
  awayMessage:
    'Gerade ist niemand online – hinterlassen Sie uns eine Nachricht, wir antworten hier, sobald wir zurück sind.',
  back: (when) => `Wir sind ${when} wieder da.`,
  when: (w) =>
    w.kind === 'today'
      ? `heute um ${w.time} Uhr`
      : w.kind === 'tomorrow'
        ? `morgen um ${w.time} Uhr`
        : w.kind === 'weekday'
          ? `am ${w.day} um ${w.time} Uhr`
          : `am ${w.day} um ${w.time} Uhr`,
  ended: 'Dieser Chat wurde beendet. Schreiben Sie einfach unten, wenn Sie noch etwas brauchen – wir melden uns wieder.',
  newMessages: 'Neue Nachrichten',
  offline: 'Sie sind offline. Nachrichten werden gesendet, sobald Sie wieder online sind.',
  reconnecting: 'Verbindung unterbrochen. Wird wiederhergestellt…',
  typing: (name) => `${name || 'Der Support'} schreibt…`,
  agent: 'Support',
  sending: 'Wird gesendet…',
  notSent: 'Nicht gesendet',
  retry: 'Erneut senden',
  sent: 'Gesendet',
  read: 'Gelesen',
  prechatLead: 'Bevor es losgeht: Wie erreichen wir Sie, falls Sie die Seite verlassen?',
  fieldName: 'Ihr Name',
  fieldEmail: 'E-Mail',
  fieldPhone: 'Telefon',
  startChat: 'Chat starten',
  errRequired: 'Bitte füllen Sie die mit * markierten Felder aus.',
  errEmail: 'Bitte geben Sie eine gültige E-Mail-Adresse ein.',
  errPhone: 'Bitte geben Sie eine gültige Telefonnummer ein.',
  errUnreachable: 'Der Server ist nicht erreichbar. Bitte versuchen Sie es erneut.',
  errRefused: 'Bitte prüfen Sie Ihre Angaben und versuchen Sie es erneut.',
  messageLabel: 'Ihre Nachricht',
  placeholder: 'Nachricht schreiben…',
  send: 'Nachricht senden',
  attach: 'Datei anhängen',
  remove: 'Entfernen',
  units: 'B KB MB GB',
  fileTooLarge: (limit) => (limit ? `Diese Datei ist zu groß: höchstens ${limit}.` : 'Diese Datei ist zu groß.'),
  fileType: 'Dateien dieser Art können nicht gesendet werden.',
  fileEmpty: 'Diese Datei ist leer.',
  fileTooMany: (n) => `Höchstens ${n} Dateien pro Nachricht.`,
  fileRateLimited: 'Zu viele Dateien auf einmal. Bitte versuchen Sie es in einer Minute erneut.',
  fileFailed: 'Hochladen fehlgeschlagen.',
  poweredBy: 'Bereitgestellt von',
  transcriptOffer: 'Diese Unterhaltung per E-Mail erhalten',
  transcriptEmail: 'Ihre E-Mail-Adresse',
  transcriptSend: 'Senden',
  transcriptSent: (to) => `An ${to} gesendet`,
  transcriptLater: 'Bitte versuchen Sie es später noch einmal.',
  transcriptFailed: 'Die E-Mail konnte nicht gesendet werden. Bitte versuchen Sie es erneut.',
  transcriptBadEmail: 'Bitte prüfen Sie Ihre E-Mail-Adresse.',
};

// French typography: a no-break space before ! ? : ;
const fr: Strings = {
  openChat: 'Ouvrir le chat',
  closeChat: 'Fermer le chat',
  openChatUnread: (n) => `Ouvrir le chat, ${n} non ${n > 1 ? 'lus' : 'lu'}`,
  minimize: 'Réduire le chat',
  title: 'Discutez avec nous',
  statusUnavailable: 'Indisponible',
  statusConnecting: 'Connexion…',
  statusOnline: 'En ligne · réponse en quelques minutes',
  statusAway: 'Absents · nous vous répondrons ici bientôt',
  statusClosed: 'Absents · en dehors de nos horaires d’ouverture',
  conversation: 'Conversation',
  loadingEarlier: 'Chargement des messages précédents…',
  unavailable: 'Le chat n’est pas disponible sur ce site.',
  greeting: 'Bonjour\u00a0! Une question\u00a0? Écrivez-nous, nous sommes là pour vous aider.',
  awayMessage:
    'Personne n’est disponible pour le moment — laissez-nous un message et nous vous répondrons ici dès notre retour.',
  back: (when) => `Nous serons de retour ${when}.`,
  when: (w) =>
    w.kind === 'today'
      ? `aujourd’hui à ${w.time}`
      : w.kind === 'tomorrow'
        ? `demain à ${w.time}`
        : w.kind === 'weekday'
          ? `${w.day} à ${w.time}`
          : `le ${w.day} à ${w.time}`,
  ended: 'Cette discussion est terminée. Écrivez ci-dessous si vous avez besoin d’autre chose, nous reprendrons la conversation.',
  newMessages: 'Nouveaux messages',
  offline: 'Vous êtes hors ligne. Vos messages seront envoyés dès le retour de la connexion.',
  reconnecting: 'Connexion perdue. Reconnexion…',
  typing: (name) => `${name || 'Le support'} écrit…`,
  agent: 'Support',
  sending: 'Envoi…',
  notSent: 'Non envoyé',
  retry: 'Réessayer',
  sent: 'Envoyé',
  read: 'Lu',
  prechatLead: 'Avant de commencer, indiquez-nous comment vous joindre si vous quittez la page.',
  fieldName: 'Votre nom',
  fieldEmail: 'E-mail',
  fieldPhone: 'Téléphone',
  startChat: 'Démarrer la discussion',
  errRequired: 'Veuillez remplir les champs marqués d’un *.',
  errEmail: 'Veuillez saisir une adresse e-mail valide.',
  errPhone: 'Veuillez saisir un numéro de téléphone valide.',
  errUnreachable: 'Impossible de joindre le serveur. Veuillez réessayer.',
  errRefused: 'Veuillez vérifier vos informations et réessayer.',
  messageLabel: 'Votre message',
  placeholder: 'Écrivez un message…',
  send: 'Envoyer le message',
  attach: 'Joindre un fichier',
  remove: 'Retirer',
  units: 'o Ko Mo Go',
  fileTooLarge: (limit) => (limit ? `Ce fichier est trop volumineux : ${limit} au maximum.` : 'Ce fichier est trop volumineux.'),
  fileType: 'Ce type de fichier ne peut pas être envoyé.',
  fileEmpty: 'Ce fichier est vide.',
  fileTooMany: (n) => `${n} fichiers au maximum par message.`,
  fileRateLimited: 'Trop de fichiers à la fois. Veuillez réessayer dans une minute.',
  fileFailed: 'Échec de l’envoi du fichier.',
  poweredBy: 'Propulsé par',
  transcriptOffer: 'Recevoir cette conversation par e-mail',
  transcriptEmail: 'Votre adresse e-mail',
  transcriptSend: 'Envoyer',
  transcriptSent: (to) => `Envoyée à ${to}`,
  transcriptLater: 'Vous pourrez réessayer plus tard.',
  transcriptFailed: 'L’e-mail n’a pas pu être envoyé. Veuillez réessayer.',
  transcriptBadEmail: 'Veuillez vérifier votre adresse e-mail.',
};

const es: Strings = {
  openChat: 'Abrir chat',
  closeChat: 'Cerrar chat',
  openChatUnread: (n) => `Abrir chat, ${n} sin leer`,
  minimize: 'Minimizar chat',
  title: '¿En qué podemos ayudar?',
  statusUnavailable: 'No disponible',
  statusConnecting: 'Conectando…',
  statusOnline: 'En línea · respondemos en pocos minutos',
  statusAway: 'Ausentes · responderemos aquí pronto',
  statusClosed: 'Ausentes · fuera del horario de atención',
  conversation: 'Conversación',
  loadingEarlier: 'Cargando mensajes anteriores…',
  unavailable: 'El chat no está disponible en este sitio.',
  greeting: '¡Hola! ¿Alguna pregunta? Estamos aquí para ayudar.',
  awayMessage: 'Ahora mismo no hay nadie en línea. Responderemos aquí a cualquier mensaje en cuanto volvamos.',
  back: (when) => `Volvemos ${when}.`,
  when: (w) => {
    const at = `${w.hour === 1 ? 'a la' : 'a las'} ${w.time}`;
    return w.kind === 'today'
      ? `hoy ${at}`
      : w.kind === 'tomorrow'
        ? `mañana ${at}`
        : w.kind === 'weekday'
          ? `el ${w.day} ${at}`
          : `el ${w.day} ${at}`;
  },
  ended: 'Este chat ha terminado. Para cualquier otra cosa, basta con escribir abajo y lo retomaremos.',
  newMessages: 'Mensajes nuevos',
  offline: 'Sin conexión. Los mensajes se enviarán al recuperar la conexión.',
  reconnecting: 'Conexión perdida. Reconectando…',
  typing: (name) => `${name || 'Soporte'} está escribiendo…`,
  agent: 'Soporte',
  sending: 'Enviando…',
  notSent: 'No enviado',
  retry: 'Reintentar',
  sent: 'Enviado',
  read: 'Leído',
  prechatLead: 'Antes de empezar, unos datos de contacto por si se cierra la página.',
  fieldName: 'Nombre',
  fieldEmail: 'Correo electrónico',
  fieldPhone: 'Teléfono',
  startChat: 'Iniciar chat',
  errRequired: 'Los campos marcados con * son obligatorios.',
  errEmail: 'La dirección de correo electrónico no es válida.',
  errPhone: 'El número de teléfono no es válido.',
  errUnreachable: 'No se pudo conectar con el servidor. Se puede volver a intentar en un momento.',
  errRefused: 'Algún dato no es válido.',
  messageLabel: 'Mensaje',
  placeholder: 'Escribir un mensaje…',
  send: 'Enviar mensaje',
  attach: 'Adjuntar un archivo',
  remove: 'Quitar',
  units: 'B KB MB GB',
  fileTooLarge: (limit) => (limit ? `Este archivo es demasiado grande: el máximo es ${limit}.` : 'Este archivo es demasiado grande.'),
  fileType: 'Este tipo de archivo no se puede enviar.',
  fileEmpty: 'Este archivo está vacío.',
  fileTooMany: (n) => `Como máximo ${n} archivos por mensaje.`,
  fileRateLimited: 'Demasiados archivos a la vez. Se puede volver a intentar en un minuto.',
  fileFailed: 'No se pudo subir el archivo.',
  poweredBy: 'Con la tecnología de',
  transcriptOffer: 'Recibir esta conversación por correo',
  transcriptEmail: 'Correo electrónico',
  transcriptSend: 'Enviar',
  transcriptSent: (to) => `Enviada a ${to}`,
  transcriptLater: 'Se podrá volver a pedir más tarde.',
  transcriptFailed: 'No se pudo enviar el correo. Se puede volver a intentar en un momento.',
  transcriptBadEmail: 'La dirección de correo electrónico no es válida.',
};

const pt: Strings = {
  openChat: 'Abrir chat',
  closeChat: 'Fechar chat',
  openChatUnread: (n) => `Abrir chat, ${n} ${n > 1 ? 'mensagens não lidas' : 'mensagem não lida'}`,
  minimize: 'Minimizar chat',
  title: 'Como podemos ajudar?',
  statusUnavailable: 'Indisponível',
  statusConnecting: 'Conectando…',
  statusOnline: 'Online · respondemos em poucos minutos',
  statusAway: 'Ausentes · respondemos aqui em breve',
  statusClosed: 'Ausentes · fora do horário de atendimento',
  conversation: 'Conversa',
  loadingEarlier: 'Carregando mensagens anteriores…',
  unavailable: 'O chat não está disponível neste site.',
  greeting: 'Olá! Alguma dúvida? Estamos aqui para ajudar.',
  awayMessage: 'Não há ninguém online agora. Responderemos aqui a qualquer mensagem assim que voltarmos.',
  back: (when) => `Voltamos ${when}.`,
  when: (w) => {
    const at = `${w.hour === 1 ? 'à' : 'às'} ${w.time}`;
    // "na segunda-feira", "no sábado", "no domingo" (the date too starts with its day's name)
    const on = w.weekday === 0 || w.weekday === 6 ? 'no' : 'na';
    return w.kind === 'today'
      ? `hoje ${at}`
      : w.kind === 'tomorrow'
        ? `amanhã ${at}`
        : w.kind === 'weekday'
          ? `${on} ${w.day} ${at}`
          : `${on} ${w.day} ${at}`;
  },
  ended: 'Este chat foi encerrado. Para qualquer outra coisa, é só escrever abaixo e retomamos a conversa.',
  newMessages: 'Novas mensagens',
  offline: 'Sem conexão. As mensagens serão enviadas quando a conexão voltar.',
  reconnecting: 'Conexão perdida. Reconectando…',
  typing: (name) => `${name || 'O suporte'} está escrevendo…`,
  agent: 'Suporte',
  sending: 'Enviando…',
  notSent: 'Não enviada',
  retry: 'Tentar novamente',
  sent: 'Enviada',
  read: 'Lida',
  prechatLead: 'Antes de começar, diga-nos como responder caso saia da página.',
  fieldName: 'Nome',
  fieldEmail: 'E-mail',
  fieldPhone: 'Telefone',
  startChat: 'Iniciar chat',
  errRequired: 'Preencha os campos marcados com *.',
  errEmail: 'Indique um e-mail válido.',
  errPhone: 'Indique um número de telefone válido.',
  errUnreachable: 'Sem resposta do servidor. Tente novamente.',
  errRefused: 'Verifique os seus dados e tente novamente.',
  messageLabel: 'Mensagem',
  placeholder: 'Escreva uma mensagem…',
  send: 'Enviar mensagem',
  attach: 'Anexar um arquivo',
  remove: 'Remover',
  units: 'B KB MB GB',
  fileTooLarge: (limit) => (limit ? `Este arquivo é grande demais: o máximo é ${limit}.` : 'Este arquivo é grande demais.'),
  fileType: 'Este tipo de arquivo não pode ser enviado.',
  fileEmpty: 'Este arquivo está vazio.',
  fileTooMany: (n) => `No máximo ${n} arquivos por mensagem.`,
  fileRateLimited: 'Arquivos demais de uma vez. É possível tentar novamente em um minuto.',
  fileFailed: 'Não foi possível enviar o arquivo.',
  poweredBy: 'Com tecnologia',
  transcriptOffer: 'Receber esta conversa por e-mail',
  transcriptEmail: 'E-mail',
  transcriptSend: 'Enviar',
  transcriptSent: (to) => `Enviada para ${to}`,
  transcriptLater: 'Tente novamente mais tarde.',
  transcriptFailed: 'Não foi possível enviar o e-mail. Tente novamente.',
  transcriptBadEmail: 'Verifique o seu e-mail.',
};

export const catalogues: Record<Lang, Strings> = { en, de, fr, es, pt };

/** The first of the visitor's languages (`navigator.languages`) the widget speaks, by its
 *  primary subtag (`de-AT` is German); English when none is. */
export function pickLanguage(preferred: readonly string[] | undefined | null): Lang {
  for (const tag of preferred || []) {
    const primary = String(tag).split(/[-_]/)[0].toLowerCase();
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Lang;
  }
  return 'en';
}
