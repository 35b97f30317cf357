import type { LanguageCueList } from './language-cues.js'

const units = ['zéro', 'zero', 'un', 'une', 'deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf']
const tens = ['dix', 'onze', 'douze', 'treize', 'quatorze', 'quinze', 'seize', 'vingt', 'trente', 'quarante', 'cinquante',
  'soixante', 'cent']

export const fr: LanguageCueList = {
  fillers: ['euh', 'heu', 'bah', 'ben', 'hum', 'euhm'],
  connectives: ['et', 'mais', 'ou', 'car', 'parce', 'que', "qu'", 'puisque', 'lorsque', 'si', 'ni', 'le', 'la', 'les',
    "l'", 'un', 'une', 'des', 'du', 'de', "d'", 'mon', 'ma', 'mes', 'ton', 'ta', 'tes', 'son', 'sa', 'ses', 'notre', 'votre',
    'nos', 'vos', 'leur', 'leurs', 'ce', 'cette', 'ces', 'je', "j'", 'tu', 'il', 'ils', 'ne', "n'", "c'est", 'est-ce'],
  completeAfter: { si: ['mais', 'que'], un: ['numéro', 'chapitre', 'page'], "c'est": ['que'] },
  prepositions: ['à', 'au', 'aux', 'pour', 'avec', 'dans', 'sur', 'en', 'par', 'chez', 'sans', 'vers', 'entre', 'comme',
    'très', 'trop'],
  auxiliaries: ['est', 'suis', 'es', 'sont', 'sommes', 'êtes', 'était', 'ai', 'as', 'a', 'avons', 'avez', 'ont', 'vais', 'va',
    'peux', 'peut', 'veux', 'veut', 'dois', 'doit'],
  pronouns: ['oui', 'non', "l'", 'le', 'y', 'en'],
  shortAnswers: ['oui', 'non', 'ouais', 'si', 'merci', 'merci beaucoup', 'non merci', 'oui merci', "d'accord", 'ok', 'okay',
    "c'est tout", "c'est ça", "c'est bon", 'exactement', 'bien sûr', 'voilà', 'au revoir', 'bonjour', 'salut', 'parfait',
    'pas du tout', 'je ne sais pas', 'je sais pas', 'super', 'génial', 'très bien', 'entendu', 'pardon', 'attends', 'stop'],
  questionStarts: ["qu'est-ce", 'quoi', 'où', 'quand', 'qui', 'pourquoi', 'comment', 'quel', 'quelle', 'quels', 'quelles',
    'combien', 'est-ce', 'peux-tu', 'pouvez-vous', 'pourriez-vous', 'as-tu', 'avez-vous', 'est-il', 'est-elle', 'sais-tu',
    'savez-vous'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    mille: 3
  },
  months: ['janvier', 'février', 'fevrier', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'aout', 'septembre', 'octobre',
    'novembre', 'décembre', 'decembre'],
  dayWords: ['premier', '1er'],
  dayPrepositions: ['le'],
  dateCues: ['né', 'née', 'naissance', 'expiration', 'expire'],
  numberCues: [
    ['téléphone', 'phone'], ['portable', 'phone'], ['mon numéro', 'phone'], ['appeler au', 'phone'], ['joindre au', 'phone'],
    ['code postal', 'zip'],
    ['carte', 'card'],
    ['adresse', 'address'], ["j'habite", 'address'],
    ['commande', 'identifier'], ['compte', 'identifier'], ['référence', 'identifier'], ['dossier', 'identifier'],
    ['code', 'identifier'], ['numéro', 'phone']
  ],
  requestCues: [
    ['téléphone', 'phone'], ['portable', 'phone'], ['votre numéro', 'phone'], ['vous joindre', 'phone'],
    ['code postal', 'zip'],
    ['numéro de carte', 'card'], ['carte bancaire', 'card'],
    ['épeler', 'spelling'], ['épelez', 'spelling'], ['lettre par lettre', 'spelling'],
    ['date de naissance', 'date'], ['né', 'date'], ['née', 'date'], ['quelle date', 'date'], ['expiration', 'date'],
    ['commande', 'identifier'], ['compte', 'identifier'], ['référence', 'identifier'], ['dossier', 'identifier'],
    ['code', 'identifier'], ['chiffres', 'identifier'],
    ['liste', 'list'], ['lesquels', 'list'], ['lesquelles', 'list']
  ]
}
