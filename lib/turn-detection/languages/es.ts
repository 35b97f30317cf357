import type { LanguageCueList } from './language-cues.js'

const units = ['cero', 'uno', 'una', 'un', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve']
const tens = ['diez', 'once', 'doce', 'trece', 'catorce', 'quince', 'dieciséis', 'dieciseis', 'diecisiete', 'dieciocho',
  'diecinueve', 'veinte', 'treinta', 'cuarenta', 'cincuenta', 'sesenta', 'setenta', 'ochenta', 'noventa', 'cien', 'ciento']

export const es: LanguageCueList = {
  fillers: ['eh', 'em', 'pues', 'mmm', 'ehh'],
  connectives: ['y', 'e', 'pero', 'o', 'u', 'porque', 'que', 'ni', 'sino', 'aunque', 'si', 'cuando', 'el', 'la', 'los', 'las',
    'un', 'una', 'unos', 'unas', 'mi', 'mis', 'tu', 'tus', 'su', 'sus', 'nuestro', 'nuestra', 'del', 'al'],
  // STT may drop the accent of "mí" and "sí".
  completeAfter: { que: ['por'], si: ['que', 'pues', 'eso', 'claro', 'ahora'], mi: ['a', 'para', 'de', 'por', 'sin', 'sobre'] },
  prepositions: ['a', 'de', 'en', 'con', 'para', 'por', 'sin', 'sobre', 'entre', 'hasta', 'desde', 'hacia', 'como', 'muy'],
  auxiliaries: ['es', 'son', 'está', 'están', 'estoy', 'soy', 'era', 'fue', 'he', 'ha', 'han', 'hay', 'voy', 'va', 'puedo', 'quiero'],
  pronouns: ['lo', 'la', 'eso', 'esto', 'sí', 'no'],
  shortAnswers: ['sí', 'si', 'no', 'gracias', 'muchas gracias', 'no gracias', 'sí gracias', 'vale', 'claro', 'exacto',
    'correcto', 'eso es todo', 'eso es', 'perfecto', 'adiós', 'hola', 'de acuerdo', 'bueno', 'vale gracias', 'ok', 'okay',
    'no sé', 'ni idea', 'genial', 'listo', 'por favor', 'perdón', 'espera'],
  questionStarts: ['qué', 'que', 'dónde', 'donde', 'cuándo', 'cuando', 'quién', 'quien', 'por qué', 'cómo', 'como', 'cuál',
    'cual', 'cuánto', 'cuanto', 'cuánta', 'cuántos', 'cuántas', 'puedes', 'puede', 'podrías', 'podría', 'hay', 'tienes',
    'tiene', 'sabes', 'sabe', 'es', 'está'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    mil: 3
  },
  compoundNumber: /^veinti\p{L}+$/u,
  months: ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'setiembre', 'octubre',
    'noviembre', 'diciembre'],
  dayWords: ['primero'],
  dateLinks: ['de'],
  dayPrepositions: ['el'],
  dateCues: ['nací', 'nacimiento', 'caducidad', 'vencimiento'],
  numberCues: [
    ['teléfono', 'phone'], ['telefono', 'phone'], ['móvil', 'phone'], ['celular', 'phone'], ['mi número', 'phone'],
    ['llamar al', 'phone'], ['llámame al', 'phone'],
    ['código postal', 'zip'],
    ['tarjeta', 'card'],
    ['dirección', 'address'], ['direccion', 'address'], ['vivo en', 'address'],
    ['pedido', 'identifier'], ['cuenta', 'identifier'], ['referencia', 'identifier'], ['código', 'identifier'],
    ['número', 'phone']
  ],
  requestCues: [
    ['teléfono', 'phone'], ['móvil', 'phone'], ['celular', 'phone'], ['su número', 'phone'], ['tu número', 'phone'],
    ['código postal', 'zip'],
    ['número de tarjeta', 'card'], ['tarjeta de crédito', 'card'],
    ['deletrear', 'spelling'], ['deletree', 'spelling'], ['deletrea', 'spelling'], ['letra por letra', 'spelling'],
    ['fecha de nacimiento', 'date'], ['naciste', 'date'], ['nació', 'date'], ['qué fecha', 'date'], ['vencimiento', 'date'],
    ['pedido', 'identifier'], ['cuenta', 'identifier'], ['referencia', 'identifier'], ['código', 'identifier'],
    ['dígitos', 'identifier'],
    ['lista', 'list'], ['cuáles', 'list']
  ],
  phoneDigits: 9
}
