package settings

// texts are the Settings app's strings by language. The English ones are
// MIUI 12's (XEU ginkgo Settings.apk and SecurityCenter.apk strings and
// arrays, reference/miui-ui.md sections 3 and 5) where a source gives
// them: the root list's entries but "About phone", "Wi-Fi" and
// "Additional settings" are modeled on MIUI 12's layout. The Portuguese
// (pt-BR) ones are modeled, but for "Voltar", the up arrow's description
// on a real pt-BR MIUI screen (reference/ui-dumps/02).
var texts = map[string]map[string]string{
	"en": {
		"settings": "Settings", "back": "Back", "ok": "OK", "cancel": "Cancel",
		"about": "About phone", "wifi": "Wi-Fi", "bluetooth": "Bluetooth", "mobile": "SIM cards & mobile networks",
		"connection": "Connection & sharing", "lock": "Lock screen", "display": "Display", "sound": "Sound & vibration",
		"notifications": "Notifications & Control center", "home": "Home screen", "wallpaper": "Wallpaper", "themes": "Themes",
		"passwords": "Passwords & security", "privacy": "Privacy protection", "battery": "Battery & performance", "apps": "Apps",
		"additional": "Additional settings", "wellbeing": "Digital Wellbeing & parental controls", "special": "Special features",
		"account": "Mi Account", "google": "Google", "accounts": "Accounts & sync", "feedback": "Services & feedback",
		"brightness": "Brightness level", "sleep": "Sleep", "sleep_summary": "After %s of inactivity",
		"device_name": "Device name", "miui_version": "MIUI version", "android_version": "Android version",
		"rename_12": "Rename phone", "rename_125": "Rename device", "enter_name": "Enter name",
		"name_caption":  "Other nearby devices can see this name.",
		"wifi_networks": "Wi-Fi networks", "connected": "Connected", "saved": "Saved", "secured": "Secured", "open": "Open",
		"off": "Off", "forget": "Forget", "connect": "Connect", "password": "Password",
		"date": "Date & time", "languages": "Languages & input", "region": "Region", "accessibility": "Accessibility",
		"developer": "Developer options", "backup": "Backup & reset",
		"usb_debugging": "USB debugging", "usb_install": "Install via USB", "usb_install_desc": "Allow installing apps via USB",
		"usb_input":      "USB debugging (Security settings)",
		"usb_input_desc": "Allow granting permissions and simulating input via USB debugging",
	},
	"pt": {
		"settings": "Configurações", "back": "Voltar", "ok": "OK", "cancel": "Cancelar",
		"about": "Sobre o telefone", "wifi": "Wi-Fi", "bluetooth": "Bluetooth", "mobile": "Chips e redes móveis",
		"connection": "Conexão e compartilhamento", "lock": "Tela de bloqueio", "display": "Tela", "sound": "Som e vibração",
		"notifications": "Notificações e Central de controle", "home": "Tela inicial", "wallpaper": "Papel de parede", "themes": "Temas",
		"passwords": "Senhas e segurança", "privacy": "Proteção de privacidade", "battery": "Bateria e desempenho", "apps": "Aplicativos",
		"additional": "Configurações adicionais", "wellbeing": "Bem-estar digital e controle parental", "special": "Recursos especiais",
		"account": "Mi Conta", "google": "Google", "accounts": "Contas e sincronização", "feedback": "Serviços e feedback",
		"brightness": "Nível de brilho", "sleep": "Suspensão", "sleep_summary": "Após %s de inatividade",
		"device_name": "Nome do dispositivo", "miui_version": "Versão da MIUI", "android_version": "Versão do Android",
		"rename_12": "Renomear telefone", "rename_125": "Renomear dispositivo", "enter_name": "Insira o nome",
		"name_caption":  "Outros dispositivos próximos podem ver este nome.",
		"wifi_networks": "Redes Wi-Fi", "connected": "Conectado", "saved": "Salva", "secured": "Protegida", "open": "Aberta",
		"off": "Desativado", "forget": "Esquecer", "connect": "Conectar", "password": "Senha",
		"date": "Data e hora", "languages": "Idiomas e entrada", "region": "Região", "accessibility": "Acessibilidade",
		"developer": "Opções do desenvolvedor", "backup": "Backup e redefinição",
		"usb_debugging": "Depuração USB", "usb_install": "Instalar via USB", "usb_install_desc": "Permitir instalar apps via USB",
		"usb_input":      "Depuração USB (Configurações de segurança)",
		"usb_input_desc": "Permitir conceder permissões e simular entradas via depuração USB",
	},
}

// sleepEntries and sleepValues are MIUI's screen_timeout_entries and
// screen_timeout_values (the same in 12.0 and 12.5; miui-ui.md section 3).
var (
	sleepEntries = map[string][]string{
		"en": {"15 seconds", "30 seconds", "1 minute", "2 minutes", "5 minutes", "10 minutes", "Never"},
		"pt": {"15 segundos", "30 segundos", "1 minuto", "2 minutos", "5 minutos", "10 minutos", "Nunca"},
	}
	sleepValues = []string{"15000", "30000", "60000", "120000", "300000", "600000", "2147483647"}
)

// text is a string in lang, English where lang has none.
func text(lang, key string) string {
	if s, ok := texts[lang][key]; ok {
		return s
	}
	return texts["en"][key]
}
