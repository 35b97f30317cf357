import type { LanguageCueList } from './language-cues.js'

const units = ['zero', 'um', 'uma', 'dois', 'duas', 'três', 'tres', 'quatro', 'cinco', 'seis', 'meia', 'sete', 'oito', 'nove']
const tens = ['dez', 'onze', 'doze', 'treze', 'catorze', 'quatorze', 'quinze', 'dezesseis', 'dezasseis', 'dezessete', 'dezassete',
  'dezoito', 'dezenove', 'dezanove', 'vinte', 'trinta', 'quarenta', 'cinquenta', 'sessenta', 'setenta', 'oitenta', 'noventa',
  'cem', 'cento']

export const pt: LanguageCueList = {
  fillers: ['hã', 'ahn', 'éé', 'eh', 'hum', 'tipo'],
  // Not meu, seu, …: Portuguese possessives are also pronouns ("é meu").
  connectives: ['e', 'mas', 'ou', 'porque', 'que', 'então', 'se', 'quando', 'embora', 'o', 'os', 'as', 'um', 'uma', 'uns', 'umas'],
  prepositions: ['a', 'de', 'em', 'para', 'pra', 'com', 'por', 'sem', 'sobre', 'no', 'na', 'do', 'da', 'dos', 'das', 'ao', 'até',
    'como', 'muito'],
  auxiliaries: ['é', 'são', 'está', 'estou', 'sou', 'era', 'foi', 'tenho', 'tem', 'vou', 'vai', 'quero', 'posso'],
  pronouns: ['o', 'isso', 'isto', 'sim', 'não'],
  shortAnswers: ['sim', 'não', 'nao', 'obrigado', 'obrigada', 'muito obrigado', 'muito obrigada', 'não obrigado',
    'não obrigada', 'valeu', 'claro', 'exato', 'exatamente', 'certo', 'é isso', 'é só isso', 'só isso', 'perfeito', 'tchau',
    'adeus', 'olá', 'oi', 'tá', 'tá bom', 'está bem', 'beleza', 'ok', 'okay', 'não sei', 'combinado', 'por favor',
    'desculpa', 'espera'],
  questionStarts: ['o que', 'que', 'onde', 'quando', 'quem', 'por que', 'porque', 'como', 'qual', 'quais', 'quanto', 'quanta',
    'quantos', 'quantas', 'pode', 'podes', 'poderia', 'você', 'tem', 'há', 'sabe', 'é', 'está'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    mil: 3
  },
  months: ['janeiro', 'fevereiro', 'março', 'marco', 'abril', 'maio', 'junho', 'julho', 'agosto', 'setembro', 'outubro',
    'novembro', 'dezembro'],
  dayWords: ['primeiro'],
  dateLinks: ['de'],
  dayPrepositions: ['dia'],
  dateCues: ['nasci', 'nascimento', 'validade', 'vencimento'],
  numberCues: [
    ['telefone', 'phone'], ['celular', 'phone'], ['telemóvel', 'phone'], ['meu número', 'phone'], ['ligar para', 'phone'],
    ['me liga', 'phone'],
    ['cep', 'zip'], ['código postal', 'zip'],
    ['cartão', 'card'],
    ['endereço', 'address'], ['morada', 'address'], ['moro na', 'address'], ['moro em', 'address'], ['moro no', 'address'],
    ['pedido', 'identifier'], ['conta', 'identifier'], ['cpf', 'identifier'], ['protocolo', 'identifier'],
    ['código', 'identifier'], ['número', 'phone']
  ],
  requestCues: [
    ['telefone', 'phone'], ['celular', 'phone'], ['telemóvel', 'phone'], ['seu número', 'phone'],
    ['cep', 'zip'], ['código postal', 'zip'],
    ['número do cartão', 'card'], ['cartão de crédito', 'card'],
    ['soletrar', 'spelling'], ['soletre', 'spelling'], ['letra por letra', 'spelling'],
    ['data de nascimento', 'date'], ['nasceu', 'date'], ['que data', 'date'], ['validade', 'date'],
    ['pedido', 'identifier'], ['conta', 'identifier'], ['cpf', 'identifier'], ['protocolo', 'identifier'],
    ['código', 'identifier'], ['dígitos', 'identifier'],
    ['lista', 'list'], ['quais', 'list']
  ],
  phoneDigits: 9,
  zipDigits: 7
}
